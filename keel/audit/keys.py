"""Ed25519 keys for signing checkpoints: made by keel (once, race-free), written as PEM or
base64, named by a fingerprint. Keys given in keel.yaml are read by ``keel.config.ed25519``."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.config.ed25519 import load_private

__all__ = [
    "fingerprint",
    "load_or_create",
    "private_pem",
    "public_b64",
]

_RAW = serialization.Encoding.Raw


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
