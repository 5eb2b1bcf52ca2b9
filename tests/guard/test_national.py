"""National identifiers: each found with a valid check, not with a failing one, and not where
a context word says the number is something else. Valid values come from the Faker package's
generators (an implementation apart from keel's) or from the issuers' published examples."""

from __future__ import annotations

import pytest

from keel.guard.pii import Kind, detect
from keel.guard.pii import national as n


def found(text: str) -> list[tuple[str, str]]:
    return [(e.kind.value, text[e.start : e.end]) for e in detect(text)]


# kind, a valid value, the same with its check broken, a label in the national language
CASES = [
    (Kind.IN_AADHAAR, "4992 1837 4606", "4992 1837 4604", "Aadhaar"),
    (Kind.IN_AADHAAR, "499218374606", "499218374604", "आधार"),
    (Kind.IN_PAN, "KEMCC8159B", "KEMXC8159B", "PAN"),
    (Kind.FR_NIR, "2 19 07 83 137 050 52", "2 19 07 83 137 050 53", "numéro de sécurité sociale"),
    (Kind.FR_NIR, "168024604259750", "168024604259751", "NIR"),
    (Kind.ES_DNI, "43464097P", "43464097Q", "DNI"),
    (Kind.ES_DNI, "20.246.633-D", "20.246.633-E", "NIF"),
    (Kind.ES_NIE, "Y2530829S", "Y2530829T", "NIE"),
    (Kind.IT_CF, "CNTPLA83A43I849H", "CNTPLA83A43I849A", "codice fiscale"),
    (Kind.IT_CF, "sslrmn07p07a376j", "sslrmn07p07a376k", "C.F."),
    (Kind.NL_BSN, "526907411", "526907412", "BSN"),
    (Kind.PL_PESEL, "48063026014", "48063026015", "PESEL"),
    (Kind.SE_PIN, "791123-9700", "791123-9701", "personnummer"),
    (Kind.SE_PIN, "19950531-4048", "19950531-4049", "personnummer"),
    (Kind.SE_PIN, "950531+4048", "950531+4049", "pnr"),
    (Kind.BR_CPF, "316.053.050-73", "316.053.050-74", "CPF"),
    (Kind.BR_CPF, "40048126900", "40048126901", "CPF"),
]


@pytest.mark.parametrize(("kind", "valid", "broken", "label"), CASES)
def test_a_valid_id_is_found_with_or_without_its_label(
    kind: Kind, valid: str, broken: str, label: str
) -> None:
    assert found(f"{label}: {valid}") == [(kind.value, valid)]
    assert found(f"Here it is, {valid}, thanks.") == [(kind.value, valid)]


@pytest.mark.parametrize(("kind", "valid", "broken", "label"), CASES)
def test_a_failing_check_is_no_id(kind: Kind, valid: str, broken: str, label: str) -> None:
    assert kind.value not in {k for k, _ in found(f"{label}: {broken}")}


@pytest.mark.parametrize(("kind", "valid", "broken", "label"), CASES)
def test_a_business_reference_that_passes_the_check_is_left_alone(
    kind: Kind, valid: str, broken: str, label: str
) -> None:
    for word in ("Order #", "Invoice no. ", "SKU ", "Rechnung Nr. ", "part no. "):
        assert found(f"{word}{valid} has shipped") == [], word


def test_a_label_of_another_kind_wins_over_a_bare_checksum() -> None:
    bsn = "526907411"  # also nine digits a phone label may stand before
    assert found(f"Tel. {bsn}") != [("NL_BSN", bsn)]
    pesel = "48063026014"
    assert found(f"CPF {pesel}") == []  # a PESEL is no CPF, and the label says CPF


@pytest.mark.parametrize(
    ("check", "value", "ok"),
    [
        (n.in_aadhaar_ok, "099218374606", False),  # never starts with 0
        (n.fr_nir_ok, "2A9078313705052", False),  # Corsica needs its own key
        (n.es_nie_ok, "X2530829S", False),
        (n.pl_pesel_ok, "48133026010", False),  # month 13
        (n.se_pin_ok, "791132-9700".replace("-", ""), False),  # day 32
        (n.br_cpf_ok, "11111111111", False),  # one digit repeated passes the sums
        (n.in_pan_ok, "KEMZC8159B", False),  # Z holds no PAN
    ],
)
def test_rules_beyond_the_check_digit(check: object, value: str, ok: bool) -> None:
    assert callable(check) and check(value) is ok


def test_a_pesel_that_also_passes_the_cpf_sums_is_a_pesel_in_polish_words() -> None:
    both = "97050414239"
    assert n.pl_pesel_ok(both) and n.br_cpf_ok(both)
    assert found(f"Urszula Łyskawa, {both}") == [("PL_PESEL", both)]
    assert found(f"João Conceição, {both}") == [("BR_CPF", both)]
    assert found(f"CPF {both}, Piła") == [("BR_CPF", both)]  # the label wins
    assert found(f"Łódź, PESEL {both}") == [("PL_PESEL", both)]


def test_ten_digits_in_a_phone_shape_are_a_phone_unless_swedish_words_say_otherwise() -> None:
    both = "3505244172"  # an Italian mobile's shape; a valid personnummer too
    assert n.se_pin_ok(both)
    assert found(f"Ignazio Pucci, {both}") == [("PHONE", both)]
    assert found(f"Björn Åberg, {both}") == [("SE_PIN", both)]
    assert found(f"personnummer {both}") == [("SE_PIN", both)]
    assert found("Ignazio Pucci, 350524-4172") == [("SE_PIN", "350524-4172")]
