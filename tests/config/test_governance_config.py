"""Regions, data classes, auth and limits in keel.yaml, and the references checked."""

from __future__ import annotations

import pytest

from keel.config.loader import parse_config
from keel.config.security import DataClassConfig
from keel.errors import ConfigError

BASE = """\
regions:
  fra: {jurisdiction: DE, trust: on-prem}
  us: {jurisdiction: US, trust: public-cloud}
deployments:
  - {name: a, provider: sim, model: m, region: fra}
models:
  chat: [a]
teams:
  hr: {data_class: personal}
"""
CLASSES = """\
data_classes:
  personal: {regions: [fra], pii: {prompts: redact}}
"""


def problems(text: str) -> list[tuple[str, int | None]]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "k.yaml")
    return [(p.field, p.line) for p in info.value.problems]


def test_regions_classes_and_auth_load() -> None:
    config = parse_config(BASE + CLASSES + "auth: none\n", "k.yaml")
    assert config.regions["fra"].trust == "on-prem" and config.regions["us"].jurisdiction == "US"
    assert config.data_classes["personal"].pii.prompts == "redact"
    assert config.auth.none and config.teams["hr"].data_class == "personal"


def test_unknown_references_are_refused_with_their_lines() -> None:
    text = BASE + "data_classes:\n  personal: {regions: [mars]}\nauth: {anonymous_team: ghost}\n"
    assert problems(text) == [
        ("data_classes.personal.regions[0]", 11),
        ("auth.anonymous_team", 12),
    ]
    assert problems(BASE) == [("teams.hr.data_class", 9)]


def test_oidc_needs_exactly_one_key_source() -> None:
    oidc = "auth:\n  oidc: {issuer: https://i/, audience: keel}\n"
    assert problems(BASE + CLASSES + oidc)[0][0] == "auth.oidc"


def test_an_hmac_algorithm_is_not_accepted_for_tokens() -> None:
    oidc = "auth:\n  oidc: {issuer: i, audience: a, jwks_file: f, algorithms: [HS256]}\n"
    assert problems(BASE + CLASSES + oidc)[0][0] == "auth.oidc.algorithms[0]"


def strict(regions: list[str], prompts: str = "allow", injection: str = "off",
           threshold: float = 0.8) -> DataClassConfig:  # fmt: skip
    return DataClassConfig.model_validate(
        {"regions": regions, "pii": {"prompts": prompts},
         "injection": {"action": injection, "threshold": threshold}}
    )  # fmt: skip


def test_stricter_means_fewer_regions_and_no_looser_guard() -> None:
    wide, narrow = strict(["fra", "us"]), strict(["fra"])
    assert narrow.at_least_as_strict_as(wide) and not wide.at_least_as_strict_as(narrow)
    assert strict(["fra"], "block").at_least_as_strict_as(strict(["fra"], "redact"))
    assert not strict(["fra"], "allow").at_least_as_strict_as(strict(["fra"], "redact"))
    flagging = strict(["fra"], injection="flag", threshold=0.5)
    assert not strict(["fra"], injection="flag", threshold=0.9).at_least_as_strict_as(flagging)
    assert strict(["fra"], injection="block", threshold=0.5).at_least_as_strict_as(flagging)
