"""A data class's own PII recognisers in keel.yaml: refused at load with the class and the
recogniser named, and turned into kinds the guard acts on."""

from __future__ import annotations

import pytest

from keel.config.loader import parse_config
from keel.config.security import PIIPolicy
from keel.errors import ConfigError
from keel.pipeline.pii_rules import PIIRules

BASE = """\
regions:
  fra: {jurisdiction: DE, trust: on-prem}
deployments:
  - {name: a, provider: sim, model: m, region: fra}
models:
  chat: [a]
data_classes:
  staff:
    regions: [fra]
    pii:
      prompts: redact
      recognisers:
"""


def problems(recogniser: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + "        " + recogniser + "\n", "k.yaml")
    return [(p.field, p.line, p.message) for p in info.value.problems]


def test_a_recogniser_loads() -> None:
    text = (
        BASE + '        EMPLOYEE_ID: {pattern: "EMP-[0-9]{6}", checksum: luhn, context: [staff]}\n'
    )
    loaded = parse_config(text, "k.yaml").data_classes["staff"].pii.recognisers["EMPLOYEE_ID"]
    assert loaded.checksum == "luhn" and loaded.context == ["staff"] and loaded.window == 40


def test_a_bad_regex_is_refused_naming_the_class_and_the_recogniser() -> None:
    [(field, line, message)] = problems('EMPLOYEE_ID: {pattern: "EMP-[0-9"}')
    assert field == "data_classes.staff.pii.recognisers.EMPLOYEE_ID.pattern" and line == 13
    assert "not a valid regular expression" in message


def test_an_unknown_checksum_is_refused_listing_the_known_ones() -> None:
    [(field, _, message)] = problems('EMPLOYEE_ID: {pattern: "[0-9]{6}", checksum: crc32}')
    assert field == "data_classes.staff.pii.recognisers.EMPLOYEE_ID.checksum"
    assert "verhoeff" in message and "luhn" in message


@pytest.mark.parametrize("name", ["employee_id", "EMP1", "X", "A_VERY_LONG_KIND_NAME"])
def test_a_name_that_cannot_be_a_placeholder_is_refused(name: str) -> None:
    [(field, _, message)] = problems(f'{name}: {{pattern: "[0-9]{{6}}"}}')
    assert field == "data_classes.staff.pii.recognisers" and name in message


def test_a_window_too_wide_for_the_stream_guard_is_refused() -> None:
    [(field, _, _)] = problems('EMPLOYEE_ID: {pattern: "[0-9]{6}", window: 65}')
    assert field.endswith("EMPLOYEE_ID.window")


def test_the_rules_act_on_custom_kinds_and_refuse_a_built_in_name() -> None:
    policy = PIIPolicy.model_validate(
        {"prompts": "redact", "answers": "redact",
         "recognisers": {"EMPLOYEE_ID": {"pattern": "EMP-[0-9]{6}"}}}
    )  # fmt: skip
    rules = PIIRules(policy)
    assert "EMPLOYEE_ID" in rules.inbound_policy.inspected and "EMAIL" in rules.out_kinds
    narrowed = policy.model_copy(update={"entities": ["EMPLOYEE_ID"]})
    assert PIIRules(narrowed).inbound_policy.inspected == {"EMPLOYEE_ID"}
    clash = PIIPolicy.model_validate({"recognisers": {"EMAIL": {"pattern": "x+"}}})
    with pytest.raises(ValueError, match="EMAIL"):
        PIIRules(clash)
