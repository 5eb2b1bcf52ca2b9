"""Ed25519 keys as ``keel.yaml`` gives them (``audit.signing_key``, ``audit.verify_keys``).

A private key is PKCS#8 PEM (``-----BEGIN PRIVATE KEY-----``, as ``openssl genpkey -algorithm
ed25519`` writes it) or the base64 of its raw 32 bytes; a public key is SubjectPublicKeyInfo PEM
(``-----BEGIN PUBLIC KEY-----``) or the base64 of its raw 32 bytes.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["load_private", "load_public"]


def load_private(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM or base64; ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a readable unencrypted PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"a PEM {type(key).__name__}, not an Ed25519 private key")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw32(text, "private"))


def load_public(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM or base64; ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a readable PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"a PEM {type(key).__name__}, not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(_raw32(text, "public"))


def _raw32(text: str, kind: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(
            f"an Ed25519 {kind} key is PEM or the base64 of 32 raw bytes "
            "(make one with: keel audit keygen)"
        )
    return raw
