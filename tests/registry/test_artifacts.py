"""Artifacts stored by content: put, verify, and a corrupted or missing one refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from keel.config.loader import parse_config
from keel.config.schema import KeelConfig
from keel.errors import ConfigError
from keel.registry.artifacts import ArtifactStore, CorruptArtifact, artifact_root, content_hash


def test_a_file_is_stored_under_its_sha256(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(b"weights")
    store = ArtifactStore(tmp_path / "root")
    sha = store.put(source)
    assert sha == hashlib.sha256(b"weights").hexdigest()
    assert store.path(sha) == tmp_path / "root" / sha[:2] / sha
    assert store.verify(sha).read_bytes() == b"weights"
    assert store.put(source) == sha  # the same content again: stored once
    assert [p.name for p in (tmp_path / "root" / sha[:2]).iterdir()] == [sha]


def test_a_directory_hashes_by_its_relative_paths_and_file_contents(tmp_path: Path) -> None:
    for where in ("a", "b"):
        (tmp_path / where / "sub").mkdir(parents=True)
        (tmp_path / where / "MLmodel").write_text("flavors: {}")
        (tmp_path / where / "sub" / "model.onnx").write_bytes(b"w")
    assert content_hash(tmp_path / "a") == content_hash(tmp_path / "b")
    (tmp_path / "b" / "sub" / "model.onnx").rename(tmp_path / "b" / "sub" / "other.onnx")
    assert content_hash(tmp_path / "a") != content_hash(tmp_path / "b")
    store = ArtifactStore(tmp_path / "root")
    sha = store.put(tmp_path / "a")
    assert (store.verify(sha) / "sub" / "model.onnx").read_bytes() == b"w"


def test_a_corrupted_file_is_refused_naming_the_mismatch(tmp_path: Path) -> None:
    source = tmp_path / "m.onnx"
    source.write_bytes(b"weights")
    store = ArtifactStore(tmp_path / "root")
    sha = store.put(source)
    store.path(sha).write_bytes(b"weightz")
    with pytest.raises(CorruptArtifact, match=f"artifact {sha} .* is corrupted: .* hashes to"):
        store.verify(sha)
    with pytest.raises(CorruptArtifact, match="corrupted"):
        store.put(source)  # nor is a corrupted copy taken as the stored one


def test_a_changed_file_in_a_stored_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "model.onnx").write_bytes(b"w")
    store = ArtifactStore(tmp_path / "root")
    sha = store.put(tmp_path / "d")
    (store.path(sha) / "extra").write_bytes(b"")
    with pytest.raises(CorruptArtifact, match="corrupted"):
        store.verify(sha)


def test_a_missing_artifact_and_a_symlink_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CorruptArtifact, match="missing"):
        ArtifactStore(tmp_path).verify("ab" * 32)
    (tmp_path / "real").write_bytes(b"w")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(ValueError, match="symbolic link"):
        ArtifactStore(tmp_path / "root").put(tmp_path / "link")


def test_artifact_root_follows_the_store_unless_configured(tmp_path: Path) -> None:
    near = KeelConfig.model_validate({"store": {"url": f"sqlite:///{tmp_path}/k.db"}})
    assert artifact_root(near) == tmp_path / "artifacts"
    far = KeelConfig.model_validate({"store": {"url": "postgresql://keel@db/keel"}})
    assert artifact_root(far) == Path(".keel") / "artifacts"
    shared = {"store": {"url": f"sqlite:///{tmp_path}/k.db"},
              "predictive": {"artifact_root": "/mnt/shared/artifacts"}}  # fmt: skip
    assert artifact_root(KeelConfig.model_validate(shared)) == Path("/mnt/shared/artifacts")


@pytest.mark.parametrize(
    ("root", "words"),
    [
        ("s3://models/keel", "not available in this build"),
        ("gs://models/keel", "give a local directory"),
        ("  ", "give a local directory"),
    ],
)
def test_an_artifact_root_that_is_not_a_directory_is_refused_at_start(
    root: str, words: str
) -> None:
    text = f"predictive:\n  artifact_root: {root!r}\n"
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "keel.yaml")
    message = str(refused.value)
    assert "keel.yaml" in message and "artifact_root" in message and words in message
    if root.startswith("s3"):
        assert "shared volume" in message
