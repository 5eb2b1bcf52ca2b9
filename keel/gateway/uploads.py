"""An artifact sent as a request's body (``POST /admin/models/{name}/versions``): streamed
to a staging file under the artifact root (never whole in memory), capped at
``predictive.max_artifact_bytes``, and read as a model by keel.registry.formats with nothing
trusted, exactly as ``keel models register`` reads a file without ``--trusted``.

Its format is the ``format`` query parameter (``onnx`` or ``skops``), else what its first
bytes say: a zip file is a skops file, a pickle is a pickle (refused), anything else is
read as ONNX.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from starlette.requests import ClientDisconnect, Request

from keel.errors import BadRequest, BodyTooLarge
from keel.registry.formats import Detected, UnsafeArtifact, UnsupportedArtifact, detect

__all__ = ["Upload", "received"]

_SUFFIXES = {"onnx": ".onnx", "skops": ".skops", "pickle": ".pkl", "pkl": ".pkl", "joblib": ".pkl"}
_FLUSH = 1 << 20  # written to disk a megabyte at a time, off the event loop
_UNTRUSTED = (
    " The admin API loads no artifact it cannot trust: where you trust this one, register "
    "it with keel models register --trusted."
)
_WHAT_TO_SEND = (
    " Send the bytes of an .onnx or a .skops file (format=onnx or format=skops); an MLflow "
    "model directory is registered with keel models register."
)


@dataclass(frozen=True, slots=True)
class Upload:
    """A received artifact: its staging file, its size and what it is."""

    path: Path
    size: int
    detected: Detected


@contextlib.asynccontextmanager
async def received(
    request: Request, root: Path, limit: int, asked_format: str | None
) -> AsyncIterator[Upload]:
    """The body as a checked artifact, its staging file removed afterwards."""
    suffix = _asked_suffix(asked_format)
    staging = await asyncio.to_thread(_staging_dir, root)
    try:
        body = staging / "body"
        size, head = await _receive(request, body, limit)
        if size == 0:
            raise BadRequest("The body is empty: send the artifact's bytes." + _WHAT_TO_SEND)
        path = body.rename(staging / ("artifact" + (suffix or _sniffed(head))))
        detected = await asyncio.to_thread(_detect, path, sniffed=suffix is None)
        yield Upload(path, size, detected)
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, True)


def _asked_suffix(asked: str | None) -> str | None:
    if asked is None:
        return None
    suffix = _SUFFIXES.get(asked.lower())
    if suffix is None:
        raise UnsupportedArtifact(f"Unknown model format {asked[:32]!r}." + _WHAT_TO_SEND)
    return suffix


def _staging_dir(root: Path) -> Path:
    uploads = root / ".uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="upload-", dir=uploads))


async def _receive(request: Request, path: Path, limit: int) -> tuple[int, bytes]:
    """Write the body to ``path``; its size and first bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    size, head, pending = 0, b"", bytearray()
    with path.open("wb") as out:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                head = head or chunk[:8]
                pending += chunk
                if len(pending) >= _FLUSH:
                    await asyncio.to_thread(_write, out, pending)
                    pending = bytearray()
        except ClientDisconnect:
            raise BadRequest(
                "The client closed the connection before sending the whole body."
            ) from None
        await asyncio.to_thread(_write, out, pending)
    return size, head


def _write(out: BinaryIO, data: bytearray) -> None:
    out.write(data)


def _sniffed(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return ".skops"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ".pkl"  # a pickle's PROTO opcode: refused by detect, as the CLI refuses it
    return ".onnx"


def _detect(path: Path, sniffed: bool) -> Detected:
    try:
        return detect(path, trusted=False)
    except UnsafeArtifact as exc:
        raise UnsafeArtifact(_about_the_artifact(exc, path) + _UNTRUSTED) from None
    except UnsupportedArtifact as exc:
        hint = _WHAT_TO_SEND if sniffed or path.suffix == ".onnx" else ""
        raise UnsupportedArtifact(_about_the_artifact(exc, path) + hint) from None


def _about_the_artifact(exc: Exception, path: Path) -> str:
    """The message without the staging file's path, which means nothing to the sender."""
    text = str(exc).replace(str(path), "The artifact")
    return text if text.endswith(".") else text + "."


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"The artifact is larger than {limit} bytes (predictive.max_artifact_bytes). Raise "
        "that limit in keel.yaml, or register the model with keel models register."
    )
