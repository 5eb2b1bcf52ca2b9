"""The trail from config: a new writer per process, a key made once if none is configured,
and every key a checkpoint may be signed with for verify."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keel.audit.keys import fingerprint, load_private, private_pem, public_b64
from keel.audit.trail import KEY_FILE, key_file, open_trail, verifier
from keel.config.schema import KeelConfig


def config(tmp_path: Path, **audit: Any) -> KeelConfig:
    store = {"url": f"sqlite:///{tmp_path / 'data' / 'keel.db'}"}
    return KeelConfig.model_validate({"store": store, "audit": audit})


def test_without_a_key_keel_makes_one_beside_the_store_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "keel.audit"):
        trail = open_trail(config(tmp_path))
    assert trail is not None
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_private(path.read_text())
    assert trail.signer.key_id == fingerprint(key.public_key())
    assert str(path) in caplog.text and "audit.signing_key" in caplog.text
    caplog.clear()
    again = open_trail(config(tmp_path))  # the next start reuses it, quietly
    assert again is not None and again.signer.key_id == trail.signer.key_id
    assert again.chain.writer != trail.chain.writer  # but each process is a writer of its own
    assert caplog.text == ""


def test_a_configured_key_and_key_id_are_used(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    trail = open_trail(config(tmp_path, signing_key=private_pem(key).decode(), key_id="2026-q1"))
    assert trail is not None and trail.signer.key_id == "2026-q1"
    assert trail.signer.key.public_key() == key.public_key()
    assert not (tmp_path / "data" / KEY_FILE).exists()


def test_the_trail_is_off_when_disabled(tmp_path: Path) -> None:
    assert open_trail(config(tmp_path, enabled=False)) is None
    assert not (tmp_path / "data").exists()


def test_verify_knows_the_current_key_and_the_old_ones(tmp_path: Path) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    cfg = config(tmp_path, signing_key=private_pem(new).decode(), key_id="k2",
                 verify_keys={"k1": public_b64(old.public_key())})  # fmt: skip
    assert verifier(cfg).keys == {"k1": old.public_key(), "k2": new.public_key()}


def test_verify_refuses_an_old_key_listed_under_the_new_keys_id(tmp_path: Path) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    cfg = config(tmp_path, signing_key=private_pem(new).decode(), key_id="k1",
                 verify_keys={"k1": public_b64(old.public_key())})  # fmt: skip
    with pytest.raises(ValueError, match=r"a new signing key needs a new audit\.key_id"):
        verifier(cfg)


def test_verify_does_not_make_a_key(tmp_path: Path) -> None:
    assert verifier(config(tmp_path)).keys == {}
    assert not (tmp_path / "data").exists()


def test_the_key_file_sits_beside_sqlite_else_in_dot_keel(tmp_path: Path) -> None:
    assert key_file(config(tmp_path)) == tmp_path / "data" / KEY_FILE
    postgres = KeelConfig.model_validate({"store": {"url": "postgresql://db/keel"}})
    assert key_file(postgres) == Path(".keel") / KEY_FILE
