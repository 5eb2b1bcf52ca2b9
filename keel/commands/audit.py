"""The audit trail from the command line (``keel audit``): verify, export, keygen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keel.audit.export import export_lines
from keel.audit.keys import fingerprint, private_pem, public_b64
from keel.audit.trail import verifier
from keel.audit.usage_check import render_usage, verify_usage
from keel.audit.verify import render, verify
from keel.audit.witness import newest
from keel.config.schema import KeelConfig
from keel.store import opened_store
from keel.store.audit import CheckpointRow
from keel.timeparse import parse_ago

__all__ = ["export", "keygen", "verify_store"]

FORMATS = ("jsonl",)


async def verify_store(config: KeelConfig, witness: Path | None = None) -> tuple[str, bool]:
    """The report and whether every chain verified, compared with the witness file given or
    configured (audit.witness). ValueError for a config or witness it cannot use."""
    keys = verifier(config)
    path = witness or (Path(config.audit.witness) if config.audit.witness else None)
    witnessed, lines = _witnessed(path)
    async with opened_store(config.store.url) as store:
        reports = await verify(store, keys, witnessed)
        usage = await verify_usage(store)
    ok = all(r.problem is None for r in reports) and not usage.problems and not lines
    text = f"{render(reports)}\n{render_usage(usage)}"
    if path is not None:
        text += f"\n{_render_witness(path, witnessed or {}, lines)}"
    return text, ok


def _witnessed(path: Path | None) -> tuple[dict[str, CheckpointRow] | None, list[int]]:
    if path is None:
        return None, []
    try:
        return newest(path)
    except OSError as exc:
        raise ValueError(f"the witness file {path} cannot be read: {exc.strerror}") from None


def _render_witness(path: Path, witnessed: dict[str, CheckpointRow], bad: list[int]) -> str:
    line = f"keel audit: witness {path}: the newest checkpoints of {len(witnessed)} writer(s)"
    if not bad:
        return line + " compared"
    shown = ", ".join(map(str, bad[:5])) + (" …" if len(bad) > 5 else "")
    return f"{line}; FAILED: {len(bad)} line(s) are not checkpoints (line {shown}): altered"


async def export(
    config: KeelConfig, since: str, fmt: str, writer: str | None, out: BinaryIO
) -> int:
    """Write the records as lines to ``out``; how many. ValueError for a bad since or format."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    start = parse_ago(since)
    count = 0
    async with opened_store(config.store.url) as store:
        async for line in export_lines(store, start, writer):
            out.write(line)
            count += 1
    out.flush()
    return count


def keygen(out: Path | None) -> tuple[bytes, str, str]:
    """A new signing key: its PEM (written to ``out`` with mode 0600, if given), public key
    (base64) and default key id."""
    key = Ed25519PrivateKey.generate()
    pem = private_pem(key)
    if out is not None:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
    return pem, public_b64(key.public_key()), fingerprint(key.public_key())
