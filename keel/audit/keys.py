"""Ed25519 keys for signing checkpoints: read from config (PEM or base64), or made by keel.

A private key is PKCS#8 PEM (``-----BEGIN PRIVATE KEY-----``, as ``openssl genpkey -algorithm
ed25519`` writes it) or the base64 of its raw 32 bytes; a public key is SubjectPublicKeyInfo PEM
(``-----BEGIN PUBLIC KEY-----``) or the base64 of its raw 32 bytes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "fingerprint",
    "load_or_create",
    "load_private",
    "load_public",
    "private_pem",
    "public_b64",
]

_RAW = serialization.Encoding.Raw


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


def public_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(_RAW, serialization.PublicFormat.Raw)).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    """A key id derived from the public key, used when ``audit.key_id`` is not set."""
    raw = key.public_bytes(_RAW, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_or_create(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The key in ``path``, made there (mode 0600) if missing; True if it was made now.

    Workers starting together race to make it: each writes a file of its own and links it
    into place, which only one can do, so every worker ends up with the winner's key and no
    one ever reads a half-written file."""
    if path.exists():
        return load_private(path.read_text("utf-8")), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    draft = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(private_pem(key))
            out.flush()
            os.fsync(out.fileno())
        os.link(draft, path)
    except FileExistsError:
        return load_private(path.read_text("utf-8")), False
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()
    return key, True
