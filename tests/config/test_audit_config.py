"""audit: on by default; keys from literal, ${ENV} or file:, refused with line and field if bad."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keel.audit.keys import private_pem, public_b64
from keel.config.loader import parse_config
from keel.config.schema import AuditConfig
from keel.errors import ConfigError, ConfigProblem

KEY = Ed25519PrivateKey.generate()


def problem(audit: str) -> ConfigProblem:
    with pytest.raises(ConfigError) as info:
        parse_config("server: {}\naudit:\n" + audit, "k.yaml")
    (found,) = info.value.problems
    return found


def test_the_trail_is_on_with_a_key_keel_makes() -> None:
    audit = parse_config("server: {}\n", "k.yaml").audit
    assert audit == AuditConfig()
    assert (audit.enabled, audit.signing_key, audit.key_id, audit.checkpoint_s) == (
        True, None, None, 60.0
    )  # fmt: skip


def test_a_pem_key_from_a_file_and_a_public_key_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "audit.pem").write_bytes(private_pem(KEY))
    monkeypatch.setenv("OLD_AUDIT_KEY", public_b64(Ed25519PrivateKey.generate().public_key()))
    text = (
        f"audit:\n  signing_key: file:{tmp_path / 'audit.pem'}\n  key_id: k2\n"
        "  verify_keys: {k1: '${OLD_AUDIT_KEY}'}\n  checkpoint_s: 5\n"
    )
    audit = parse_config(text, "k.yaml").audit
    assert audit.signing_key is not None
    assert audit.signing_key.get_secret_value() == private_pem(KEY).decode().strip()
    assert (audit.key_id, list(audit.verify_keys), audit.checkpoint_s) == ("k2", ["k1"], 5.0)
    assert "PRIVATE" not in repr(audit)


def test_a_key_that_is_not_ed25519_is_refused_with_its_line() -> None:
    found = problem("  enabled: true\n  signing_key: c2hvcnQ=\n")
    assert (found.line, found.field) == (4, "audit.signing_key")
    assert "base64 of 32 raw bytes" in found.message


def test_a_bad_verify_key_is_refused_naming_its_id() -> None:
    found = problem("  verify_keys: {old: nope}\n")
    assert found.field == "audit.verify_keys" and "verify_keys['old']" in found.message


@pytest.mark.parametrize(("line", "field"), [("  checkpoint_s: 0\n", "audit.checkpoint_s"),
                                              ("  key_id: ''\n", "audit.key_id"),
                                              ("  sign_key: x\n", "audit.sign_key")])  # fmt: skip
def test_bad_values_and_unknown_fields_are_refused(line: str, field: str) -> None:
    assert problem(line).field == field
