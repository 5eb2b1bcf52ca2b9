"""Generate the labelled PII corpus: python -m scripts.pii_corpus [--out PATH] [--seed N] [--n N]

Seeded and reproducible: the same seed and count give the same file, byte for byte. Every text
is one or a few sentences; entities sit inside them in the formats people write, and hard
negatives (numbers that look like PII but are not) sit next to them. Labels are character
spans, written here by construction, never by running the detector.

The values are built by this script's own arithmetic (Luhn and IBAN check digits, the
Steuer-ID rules), independent of keel/guard/pii/checks.py, so a bug there is not copied into the
labels.
"""

from __future__ import annotations

import argparse
import json
import random
import string
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).parents[1] / "tests" / "guard" / "data" / "pii_corpus.jsonl"

Piece = tuple[str, str | None]  # (text, kind or None for "not PII")
Gen = Callable[[random.Random], str]

FIRST = [
    "anna",
    "ben",
    "clara",
    "david",
    "emma",
    "felix",
    "greta",
    "hugo",
    "ida",
    "jonas",
    "karl",
    "lena",
    "max",
    "nora",
    "otto",
    "paul",
]
LAST = [
    "schmidt",
    "smith",
    "martin",
    "dubois",
    "muller",
    "jones",
    "brown",
    "garcia",
    "rossi",
    "novak",
    "weber",
    "meyer",
]
DOMAINS = ["example.com", "mail.example.org", "firma.de", "exemple.fr", "uni-example.ac.uk"]
DOMAINS += ["corp.example.co.uk", "test-mail.io", "example.net"]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def group(digits: str, sizes: list[int], sep: str) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(digits[at : at + size])
        at += size
    if at < len(digits):
        out.append(digits[at:])
    return sep.join(part for part in out if part)


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


# ---------------------------------------------------------------- positives


def email(rng: random.Random) -> str:
    if rng.random() < 0.05:  # internationalised: outside the detector's ASCII pattern
        return f"{rng.choice(['jürgen', 'zoë', 'françois'])}@{rng.choice(['müller.de', 'café.fr'])}"
    f, la = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice(
        [f"{f}.{la}", f"{f}_{la}", f"{f[0]}{la}{rng.randint(1, 99)}", f"{f}+news", f"{f}.{la}.ext"]
    )
    address = f"{local}@{rng.choice(DOMAINS)}"
    return address.title() if rng.random() < 0.1 else address


def phone(rng: random.Random) -> str:
    d = lambda n: digits(rng, n)  # noqa: E731
    area = str(rng.randint(2, 9)) + d(2)
    forms = [
        f"+44 20 {d(4)} {d(4)}",
        f"+44 7700 {d(6)}",
        f"+44 (0)20 {d(4)} {d(4)}",
        f"+1 ({area}) {d(3)}-{d(4)}",
        f"+1 {area}-{d(3)}-{d(4)}",
        f"+49 30 {d(7)}",
        f"+49 151 {d(8)}",
        f"+4915{d(9)}",
        f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"+41 44 {d(3)} {d(2)} {d(2)}",
        f"+31 20 {d(3)} {d(4)}",
        f"({area}) {d(3)}-{d(4)}",
        f"{area}-{d(3)}-{d(4)}",
        f"{area}.{d(3)}.{d(4)}",
        f"{area} {d(3)} {d(4)}",
        f"1-800-{d(3)}-{d(4)}",
        f"020 {d(4)} {d(4)}",
        f"07700 {d(6)}",
        f"0161 {d(3)} {d(4)}",
        f"030 {d(7)}",
        f"0151 {d(8)}",
        f"089/{d(8)}",
        f"0221 {d(7)}",
        f"01 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"06.{d(2)}.{d(2)}.{d(2)}.{d(2)}",
        f"06-{d(2)}-{d(2)}-{d(2)}-{d(2)}",
        f"(030) {d(7)}",
        f"0049 30 {d(7)}",
        f"{area[0]}55-{d(4)}",  # a local number without area code: too short for the detector
    ]
    return rng.choice(forms)


CARD_BRANDS = [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15)]
CARD_BRANDS += [("6011", 16), ("3528", 16), ("4", 13)]


def card_number(rng: random.Random) -> str:
    prefix, length = rng.choice(CARD_BRANDS)
    return luhn_complete(prefix, length, rng)


def card_format(number: str, rng: random.Random) -> str:
    if len(number) == 15:
        sizes = [4, 6, 5]
    elif len(number) == 13:
        sizes = [4, 4, 4, 1]
    else:
        sizes = [4, 4, 4, 4]
    return rng.choice([group(number, sizes, " "), group(number, sizes, "-"), number])


def card(rng: random.Random) -> str:
    return card_format(card_number(rng), rng)


IBAN_SHAPES = {  # country: BBAN made of (kind, count) runs; 'n' digits, 'a' capitals, 'c' either
    "DE": [("n", 18)],
    "GB": [("a", 4), ("n", 14)],
    "FR": [("n", 10), ("c", 11), ("n", 2)],
    "NL": [("a", 4), ("n", 10)],
    "ES": [("n", 20)],
    "IT": [("a", 1), ("n", 10), ("c", 12)],
    "BE": [("n", 12)],
    "AT": [("n", 16)],
    "CH": [("n", 5), ("c", 12)],
    "PL": [("n", 24)],
    "NO": [("n", 11)],
    "IE": [("a", 4), ("n", 14)],
}


def _bban(country: str, rng: random.Random) -> str:
    pools = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits * 3 + "ABCXYZ"}
    return "".join(rng.choice(pools[k]) for k, n in IBAN_SHAPES[country] for _ in range(n))


def _mod97(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text)) % 97


def iban_compact(rng: random.Random, valid: bool = True) -> str:
    country = rng.choice(sorted(IBAN_SHAPES))
    bban = _bban(country, rng)
    check = 98 - _mod97(bban + country + "00")
    if not valid:
        check = (check + rng.randint(1, 96)) % 97 + 2  # another pair of check digits
        if check == 98 - _mod97(bban + country + "00"):
            check = check % 97 + 2
    return f"{country}{check:02d}{bban}"


def iban_format(compact: str, rng: random.Random) -> str:
    return group(compact, [4] * 9, " ") if rng.random() < 0.7 else compact


def iban(rng: random.Random) -> str:
    text = iban_format(iban_compact(rng), rng)
    return text.lower() if rng.random() < 0.05 else text  # lower case: not detected


def ipv4(rng: random.Random) -> str:
    first = rng.choice([10, 172, 192, rng.randint(1, 223)])
    rest = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    return ".".join(str(x) for x in (first, *rest))


def ipv6(rng: random.Random) -> str:
    h = lambda: f"{rng.randint(1, 0xFFFF):x}"  # noqa: E731
    forms = [
        ":".join(h() for _ in range(8)),
        ":".join(f"{rng.randint(0, 0xFFFF):04x}" for _ in range(8)),
        f"2001:db8::{h()}:{h()}",
        f"fe80::{h()}:{h()}:{h()}:{h()}",
        f"2a02:{h()}:{h()}::{h()}",
        f"::ffff:192.0.2.{rng.randint(1, 254)}",
    ]
    address = rng.choice(forms)
    return address.upper() if rng.random() < 0.1 else address


def ip(rng: random.Random) -> str:
    return ipv4(rng) if rng.random() < 0.6 else ipv6(rng)


def ssn_digits(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def ssn_format(d: str, rng: random.Random) -> str:
    sep = rng.choice(["-", "-", "-", " ", ""])
    return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}"


def ssn(rng: random.Random) -> str:
    return ssn_format(ssn_digits(rng), rng)


NI_FIRST = [c for c in string.ascii_uppercase if c not in "DFIQUV"]
NI_SECOND = [c for c in string.ascii_uppercase if c not in "DFIOQUV"]
NI_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def ni_format(prefix: str, number: str, suffix: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{prefix} {number[:2]} {number[2:4]} {number[4:]} {suffix}"
    return f"{prefix}{number}{suffix}"


def ni(rng: random.Random) -> str:
    while (prefix := rng.choice(NI_FIRST) + rng.choice(NI_SECOND)) in NI_BAD_PREFIXES:
        pass
    text = ni_format(prefix, digits(rng, 6), rng.choice("ABCD"), rng)
    return text.lower() if rng.random() < 0.05 else text  # lower case: not detected


def iso7064_check(body: str) -> str:
    """The check digit that makes MOD 11,10 over body+digit come out at 1."""
    for d in string.digits:
        carry = 5
        for ch in body + d:
            carry = (((carry or 10) * 2) % 11 + int(ch)) % 10
        if carry == 1:
            return d
    raise AssertionError("MOD 11,10 always has a check digit")


def tax_body(rng: random.Random) -> str:
    """Ten digits, the first not 0, exactly one digit twice (or three times, not adjacent)."""
    while True:
        times = 2 if rng.random() < 0.8 else 3
        chosen = rng.sample(string.digits, 11 - times)
        doubled = chosen[0]
        body = [*chosen[1:], *([doubled] * times)]
        rng.shuffle(body)
        text = "".join(body)
        adjacent = any(text[i] == text[i + 1] == text[i + 2] for i in range(8))
        if text[0] != "0" and not adjacent:
            return text


def tax_format(number: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}"
    return number


def tax_id(rng: random.Random) -> str:
    body = tax_body(rng)
    return tax_format(body + iso7064_check(body), rng)


MONTHS_EN = "January February March April May June July August September October November December"
MONTHS_DE = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
MONTHS_FR = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


def date_text(rng: random.Random, lang: str, year: int | None = None) -> str:
    y = year or rng.randint(1935, 2006)
    m, dd = rng.randint(1, 12), rng.randint(1, 28)
    if lang == "de":
        name = MONTHS_DE.split()[m - 1]
        return rng.choice([f"{dd:02d}.{m:02d}.{y}", f"{dd}. {name} {y}", f"{dd}.{m}.{y}"])
    if lang == "fr":
        name = MONTHS_FR.split()[m - 1]
        day = "1er" if dd == 1 else str(dd)
        return rng.choice([f"{day} {name} {y}", f"{dd:02d}/{m:02d}/{y}"])
    name = MONTHS_EN.split()[m - 1]
    return rng.choice(
        [
            f"{dd} {name} {y}",
            f"{name} {dd}, {y}",
            f"{dd:02d}/{m:02d}/{y}",
            f"{y}-{m:02d}-{dd:02d}",
            f"{dd}th {name} {y}" if dd > 3 and dd < 21 else f"{dd} {name[:3]} {y}",
            f"{m:02d}-{dd:02d}-{y}",
        ]
    )


# ---------------------------------------------------------------- negatives


def bad_card(rng: random.Random) -> str:
    number = card_number(rng)
    wrong = str((int(number[-1]) + rng.randint(1, 9)) % 10)
    return card_format(number[:-1] + wrong, rng)


def bad_iban(rng: random.Random) -> str:
    return iban_format(iban_compact(rng, valid=False), rng)


def bad_ssn(rng: random.Random) -> str:
    d = ssn_digits(rng)
    broken = rng.choice(
        [
            "000" + d[3:],
            "666" + d[3:],
            str(rng.randint(900, 999)) + d[3:],
            d[:3] + "00" + d[5:],
            d[:5] + "0000",
        ]
    )
    return ssn_format(broken, rng)


def bad_ni(rng: random.Random) -> str:
    prefix = rng.choice(
        [rng.choice("DFIQUV") + rng.choice(NI_SECOND), "BG", "GB", "NK", "TN", "ZZ", "QQ"]
    )
    suffix = rng.choice("ABCD") if rng.random() < 0.7 else rng.choice("EFGHJKXYZ")
    if suffix not in "ABCD":
        prefix = rng.choice(NI_FIRST) + rng.choice(NI_SECOND)
    return ni_format(prefix, digits(rng, 6), suffix, rng)


def bad_tax_id(rng: random.Random) -> str:
    body = tax_body(rng)
    good = iso7064_check(body)
    return tax_format(body + str((int(good) + rng.randint(1, 9)) % 10), rng)


def version(rng: random.Random) -> str:
    a, b, c = rng.randint(0, 20), rng.randint(0, 30), rng.randint(0, 200)
    return rng.choice(
        [
            f"v{a}.{b}.{c}",
            f"{a}.{b}.{c}",
            f"version {a}.{b}.{c}.{rng.randint(0, 9)}",
            f"10.0.{rng.randint(10000, 22631)}.{rng.randint(1, 4000)}",
            f"Python 3.{rng.randint(8, 13)}.{rng.randint(0, 12)}",
            f"{rng.randint(100, 130)}.0.{rng.randint(1000, 6999)}.{rng.randint(10, 250)}",
        ]
    )


def timestamp(rng: random.Random) -> str:
    y, m, dd = rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return rng.choice(
        [
            f"{y}-{m:02d}-{dd:02d}T{h:02d}:{mi:02d}:{s:02d}Z",
            f"{y}-{m:02d}-{dd:02d} {h:02d}:{mi:02d}:{s:02d}",
            f"{h:02d}:{mi:02d}:{s:02d}",
            f"{rng.randint(1_500_000_000, 1_800_000_000)}{digits(rng, 3)}",
        ]
    )


def plain_date(rng: random.Random) -> str:
    return date_text(rng, rng.choice(["en", "en", "de", "fr"]), rng.randint(1990, 2026))


def price(rng: random.Random) -> str:
    whole, cents = rng.randint(1, 99999), rng.randint(0, 99)
    euro = f"€{whole:,}.{cents:02d}".replace(",", ".")
    return rng.choice([f"${whole:,}.{cents:02d}", euro, f"£ {whole}.{cents:02d}"])


def long_id(rng: random.Random) -> str:
    return digits(rng, 1).replace("0", "7") + digits(rng, rng.randint(7, 19))


def isbn(rng: random.Random) -> str:
    body = "978" + digits(rng, 9)
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    full = body + str(check)
    return rng.choice([f"{full[:3]}-{full[3]}-{full[4:6]}-{full[6:12]}-{full[12]}", full])


def order_number(rng: random.Random) -> str:
    return rng.choice(
        [
            f"#A-{digits(rng, 6)}",
            f"ORD-{digits(rng, 4)}-{digits(rng, 4)}",
            f"{digits(rng, 3)}-{digits(rng, 7)}-{digits(rng, 7)}",
            f"1Z{digits(rng, 3)}AA{digits(rng, 10)}",
        ]
    )


def look_alike(rng: random.Random) -> str:
    return rng.choice(
        [
            ".".join(str(x) for x in (rng.randint(256, 999), rng.randint(0, 255), 7, 1)),
            ":".join(f"{rng.randint(0, 255):02X}" for _ in range(6)),
            f"{rng.randint(1, 12)}:{rng.randint(10, 59)}",
            f"{rng.uniform(-90, 90):.4f}, {rng.uniform(-180, 180):.4f}",
            f"{rng.randint(0, 9)}.{digits(rng, 8)}",
            f"{rng.randint(1990, 2010)}-{rng.randint(2011, 2026)}",
            "user@localhost",
            f"{rng.choice(FIRST)} at example dot com",
            f"@{rng.choice(FIRST)}{rng.randint(1, 99)}",
            f"{rng.randint(1, 40)}-{rng.randint(100, 999)}",
            f"std::vector<{rng.choice(['int', 'char'])}>",
            f"{rng.randint(100, 999)} {rng.randint(100, 999)}",
        ]
    )


POSITIVE: dict[str, Gen] = {
    "EMAIL": email,
    "PHONE": phone,
    "CARD": card,
    "IBAN": iban,
    "IP": ip,
    "US_SSN": ssn,
    "UK_NI": ni,
    "DE_TAX_ID": tax_id,
}
NEGATIVE: dict[str, Gen] = {
    "bad_card": bad_card,
    "bad_iban": bad_iban,
    "bad_ssn": bad_ssn,
    "bad_ni": bad_ni,
    "bad_tax_id": bad_tax_id,
    "version": version,
    "timestamp": timestamp,
    "plain_date": plain_date,
    "price": price,
    "long_id": long_id,
    "isbn": isbn,
    "order": order_number,
    "look_alike": look_alike,
}

# Sentences with one slot; {} is filled by the value.
TEMPLATES: dict[str, list[str]] = {
    "EMAIL": [
        "You can reach me at {} any time.",
        "Please send the contract to {} before Friday.",
        "Bitte schreiben Sie an {}.",
        "Mon adresse est {}, merci.",
        "CC: {}",
        "From {} -- re: the quarterly numbers",
    ],
    "PHONE": [
        "Call me on {} after six.",
        "My number is {}.",
        "Phone: {}",
        "Sie erreichen mich unter {}.",
        "Mon numéro : {}",
        "If it is urgent, ring {} and ask for the desk.",
    ],
    "CARD": [
        "Charge it to my card {} please.",
        "Card number: {} (exp 09/27)",
        "I paid with {} yesterday and the charge appears twice.",
        "Meine Kreditkarte: {}",
    ],
    "IBAN": [
        "Please transfer the deposit to {}.",
        "IBAN: {}",
        "Überweisung bitte auf {} mit Verwendungszweck Miete.",
        "Mon IBAN est {}.",
    ],
    "IP": [
        "The login came from {} at night.",
        "Server address: {}",
        "Block {} on the firewall.",
        "ssh admin@host failed from {} three times",
    ],
    "US_SSN": [
        "My SSN is {}.",
        "Social security number {} on the W-2 form.",
        "SSN: {}",
    ],
    "UK_NI": [
        "My National Insurance number is {}.",
        "NI number: {}",
        "Please update NINO {} on the payroll.",
    ],
    "DE_TAX_ID": [
        "Meine Steuer-ID lautet {}.",
        "Steuerliche Identifikationsnummer: {}",
        "Tax ID (Germany): {}",
    ],
}
DOB_CONTEXT = {
    "en": ["I was born on {}.", "Date of birth: {}", "DOB {}", "born {} in Leeds", "Birthday: {}"],
    # "am ... geboren" puts the word after the date, where the detector does not look.
    "de": ["Ich bin am {} geboren.", "geboren am {}", "Geburtsdatum: {}", "geb. {}"],
    "fr": ["Je suis né le {}.", "Née le {} à Lyon.", "Date de naissance : {}"],
}
NEG_TEMPLATES = [
    "The baby was born healthy. Next check-up on {}.",  # a birth word, not a birth date
    "She was born in Leeds and moved on {}.",
    "Die Rechnung vom {} ist bezahlt.",
    "The order {} has shipped.",
    "Reference {} in your reply.",
    "It was logged as {} in the ticket.",
    "We compared {} with last year.",
    "See item {} in the list.",
    "Value: {}",
    "Die Nummer {} ist ungültig.",
    "Le code {} ne marche pas.",
]
FILLER = [
    "Thanks for your help.",
    "Let me know if you need anything else.",
    "The meeting moved to Tuesday.",
    "Can you summarise this for the team?",
    "Vielen Dank im Voraus.",
    "Merci de votre retour.",
    "We shipped 3 boxes and 12 pallets last week.",
    "Version 2 of the report is attached.",
    "It costs about 40 percent more than planned.",
    "Room 4.12 is free from 10 to 12.",
]


def fill(template: str, value: str, kind: str | None) -> list[Piece]:
    head, tail = template.split("{}", 1)
    return [(head, None), (value, kind), (tail, None)]


def dob_sentence(rng: random.Random) -> list[Piece]:
    lang = rng.choice(["en", "en", "de", "fr"])
    return fill(rng.choice(DOB_CONTEXT[lang]), date_text(rng, lang), "DOB")


def sentence(rng: random.Random, positive: bool) -> list[Piece]:
    if not positive:
        name = rng.choice(sorted(NEGATIVE))
        return fill(rng.choice(NEG_TEMPLATES), NEGATIVE[name](rng), None)
    kind = rng.choice([*sorted(POSITIVE), "DOB"])
    if kind == "DOB":
        return dob_sentence(rng)
    return fill(rng.choice(TEMPLATES[kind]), POSITIVE[kind](rng), kind)


def record(rng: random.Random, hard_negative_only: bool) -> dict[str, object]:
    pieces: list[Piece] = []
    for i in range(rng.randint(1, 3)):
        if i:
            pieces.append((" ", None))
        roll = rng.random()
        if roll < 0.2:
            pieces.append((rng.choice(FILLER), None))
        else:
            pieces.extend(sentence(rng, positive=not hard_negative_only and roll < 0.65))
    text, entities = "", []
    for value, kind in pieces:
        if kind is not None:
            entities.append({"kind": kind, "start": len(text), "end": len(text) + len(value)})
        text += value
    return {"text": text, "entities": entities}


def generate(seed: int = 5, n: int = 3000) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [record(rng, hard_negative_only=i % 4 == 3) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    records = generate(args.seed, args.n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(records)} texts -> {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
