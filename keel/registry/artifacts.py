"""Model artifacts stored by content: ``<root>/<sha[:2]>/<sha>``, a file or a directory (an
MLflow model), and re-hashed when opened so a corrupted one is refused.

A file's address is the SHA-256 of its bytes. A directory's is the SHA-256 of a canonical
listing: one ``<relative posix path>\\0<sha256 of the file>\\n`` line per file, sorted by path,
so the same files hash alike wherever they were copied from. Symbolic links are refused: what
they point at is not part of the artifact.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from keel.config.schema import KeelConfig

__all__ = ["ArtifactStore", "CorruptArtifact", "artifact_root", "content_hash"]

ARTIFACTS_DIR = "artifacts"
_CHUNK = 1 << 20


class CorruptArtifact(ValueError):
    """A stored artifact whose content no longer has its address (or is missing)."""


def artifact_root(config: KeelConfig) -> Path:
    """Where artifacts are kept: predictive.artifact_root if set, else next to the SQLite file,
    else in ./.keel/ (as the audit key)."""
    if config.predictive.artifact_root is not None:
        return Path(config.predictive.artifact_root).expanduser()
    url = config.store.url
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").removeprefix("/")
        if path and path != ":memory:":
            return Path(path).parent / ARTIFACTS_DIR
    return Path(".keel") / ARTIFACTS_DIR


def content_hash(path: Path) -> str:
    """The SHA-256 address of a file or a directory (see the module's docstring)."""
    if path.is_symlink():
        raise ValueError(f"{path} is a symbolic link: give the file or directory itself")
    if path.is_file():
        return _file_hash(path)
    if not path.is_dir():
        raise ValueError(f"{path}: no such file or directory")
    listing = hashlib.sha256()
    for relative, file in _files(path):
        listing.update(f"{relative}\0{_file_hash(file)}\n".encode())
    return listing.hexdigest()


class ArtifactStore:
    """The artifacts under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def put(self, source: Path) -> str:
        """Copy a file or directory in (once: the same content is stored once); its SHA-256."""
        sha = content_hash(source)
        target = self.path(sha)
        if target.exists():
            self.verify(sha)
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        # Copied beside its place and renamed in: a reader never sees half an artifact.
        staging = Path(tempfile.mkdtemp(prefix=".put-", dir=target.parent))
        try:
            copy = staging / "artifact"
            if source.is_dir():
                shutil.copytree(source, copy, symlinks=True)
            else:
                shutil.copyfile(source, copy)
            if content_hash(copy) != sha:
                raise CorruptArtifact(f"{source} changed while it was being copied; try again")
            os.replace(copy, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return sha

    def verify(self, sha: str) -> Path:
        """The stored artifact's path, after checking its content still hashes to ``sha``."""
        target = self.path(sha)
        if not target.exists():
            raise CorruptArtifact(f"artifact {sha} is missing from {self.root}")
        try:
            found = content_hash(target)
        except ValueError as exc:
            raise CorruptArtifact(f"artifact {sha} at {target} is unreadable: {exc}") from None
        if found != sha:
            raise CorruptArtifact(
                f"artifact {sha} at {target} is corrupted: its content hashes to {found}. "
                "Register the model file again (a new version), or restore the file."
            )
        return target


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(directory: Path) -> list[tuple[str, Path]]:
    found = []
    for path in directory.rglob("*"):
        if path.is_symlink():
            raise ValueError(f"{path} is a symbolic link: an artifact holds plain files only")
        if path.is_file():
            found.append((path.relative_to(directory).as_posix(), path))
    return sorted(found)
