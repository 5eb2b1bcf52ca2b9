"""A harder, multi-locale PII evaluation, built apart from the corpus the patterns were tuned
on (scripts/pii_corpus.py): python -m scripts.pii_eval_locales [--n N] [--split dev|dev2|test|all]

Values and the text around them come from the ``faker`` package (its per-locale phone
formats, IBANs, national-id generators, names, cities, companies and sentences) in 24
locales; what Faker lacks is built here by this script's own arithmetic (Aadhaar with
Verhoeff, Mir/RuPay/UnionPay/Troy/Elo cards with Luhn, internationalised e-mail addresses,
look-alikes), written without reading keel's patterns. Faker's own ``aadhaar_id`` uses Luhn,
not Verhoeff, so it is not used.

Three splits by source, never by row: ``dev`` (locales and sentence templates of family A),
``dev2`` (other locales and family C, added after the test numbers were seen, so fixes
are checked on text they were not made on): the only ones whose errors are read while
fixing the detector; and ``test`` (other locales and family B templates), read only as
numbers: no error of it is ever printed. The national ids, tied to one locale each, are
split by template family only.

Reported per kind: the leak rate (entities not wholly covered by a detection of their
kind), and over the look-alikes (order and invoice numbers with their word, part numbers,
barcodes, versions, quantities, money, timestamps) the damage rate (any detection
overlapping one); then µs per text of ``detect``. The same person wrote this set and the
detector: these numbers are an honest check on formats keel's author did not pick, not a
measurement on real traffic.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker

from keel.guard.pii import detect

DEV_LOCALES = ["en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "ja_JP", "pl_PL", "sv_SE",
               "en_IN", "ru_RU", "da_DK", "cs_CZ"]  # fmt: skip
TEST_LOCALES = ["en_GB", "nl_NL", "pt_BR", "zh_CN", "ko_KR", "en_AU", "no_NO", "fi_FI",
                "de_AT", "pt_PT", "tr_TR", "el_GR", "hu_HU", "uk_UA", "th_TH", "he_IL"]  # fmt: skip
# A third split, built after the test numbers were seen, so that fixes made for them are
# checked on locales and templates no fix was made on; its errors may be read.
DEV2_LOCALES = ["es_MX", "es_AR", "es_CO", "ro_RO", "id_ID", "vi_VN", "zu_ZA", "de_CH",
                "sk_SK", "hr_HR", "en_CA", "bg_BG", "zh_TW", "lt_LT", "ar_AE", "en_NZ",
                "sl_SI", "az_AZ", "ka_GE"]  # fmt: skip
# split -> its locales, its template family, an offset for Faker's seeds.
SPLITS = {"dev": (DEV_LOCALES, "A", 0), "test": (TEST_LOCALES, "B", 50),
          "dev2": (DEV2_LOCALES, "C", 75)}  # fmt: skip
PHONE_WORDS = {"en": "phone", "de": "Telefon", "fr": "téléphone", "es": "teléfono",
               "it": "telefono", "ja": "電話", "pl": "telefon", "sv": "telefon", "ru": "телефон",
               "da": "telefon", "cs": "telefon", "nl": "telefoon", "pt": "telefone",
               "zh": "电话", "ko": "전화", "no": "telefon", "fi": "puhelin", "tr": "telefon",
               "el": "τηλέφωνο", "hu": "telefon", "uk": "телефон", "th": "โทร",
               "he": "טלפון", "ro": "telefon", "id": "telepon", "vi": "điện thoại",
               "zu": "ucingo", "sk": "telefón", "hr": "telefon", "bg": "телефон",
               "lt": "telefonas", "ar": "هاتف", "sl": "telefon", "az": "telefon",
               "ka": "ტელეფონი"}  # fmt: skip
# National ids: kind, locale, a Faker generator, the id's name in that language.
NATIONAL = [
    ("FR_NIR", "fr_FR", lambda f: f.ssn(), "numéro de sécurité sociale"),
    ("ES_DNI", "es_ES", lambda f: f.nif(), "DNI"),
    ("ES_NIE", "es_ES", lambda f: f.nie(), "NIE"),
    ("IT_CF", "it_IT", lambda f: f.ssn(), "codice fiscale"),
    ("NL_BSN", "nl_NL", lambda f: f.ssn(), "BSN"),
    ("PL_PESEL", "pl_PL", lambda f: f.pesel(), "PESEL"),
    ("SE_PIN", "sv_SE", lambda f: f.ssn(), "personnummer"),
    ("BR_CPF", "pt_BR", lambda f: f.cpf(), "CPF"),
    ("IN_PAN", "en_IN", lambda f: f.pan(), "PAN"),
    ("US_SSN", "en_US", lambda f: f.ssn(), "SSN"),
]

# Sentence templates; {v} is the value, {w} its word, {n} a name, {s} a sentence, {c} a city.
FAMILIES = {
    "A": ["{w}: {v}", "{n}, {w} {v}. {s}", "{s} {w} {v}", "{v} ({n})", "{n} — {v}, {c}"],
    "B": ["{s} {n} ({w} {v}) {s}", "{c}; {v}; {s}", "{w}:\n{v}", "[{v}] {s}", "{n}: {v}!"],
    "C": [
        "{s}\n{w} {v}\n{n}",
        "{n} <{v}>, {c}",
        "- {w}: «{v}»",
        "{s} ({v}).",
        "{c} | {w} | {v} | {n}",
        '"{v}" — {n}, {s}',
    ],
}
LOOKALIKE_WORDS = ["Order", "Bestellnummer", "N° de commande", "Pedido", "Ordine n.",
                   "Invoice no.", "Rechnung Nr.", "Facture", "Factura", "Fattura n.",
                   "Part No.", "P/N", "Art.-Nr.", "SKU", "Ref.", "Tracking", "Ticket",
                   "Zamówienie", "Ordernummer", "Beställning"]  # fmt: skip


@dataclass
class Text:
    text: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # kind, start, end
    lookalikes: list[tuple[int, int]] = field(default_factory=list)


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _verhoeff_tables() -> tuple[list[list[int]], list[list[int]], list[int]]:
    """The dihedral group D5 built from its rules, not copied from a table."""

    def mul(a: int, b: int) -> int:
        if a < 5 and b < 5:
            return (a + b) % 5
        if a < 5:
            return 5 + (b - 5 + a) % 5
        if b < 5:
            return 5 + (a - 5 - b) % 5
        return (a - b) % 5

    d = [[mul(a, b) for b in range(10)] for a in range(10)]
    perm = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]
    p = [list(range(10))]
    for _ in range(7):
        p.append([perm[x] for x in p[-1]])
    inv = [next(b for b in range(10) if d[a][b] == 0) for a in range(10)]
    return d, p, inv


_D, _P, _INV = _verhoeff_tables()


def verhoeff_digit(body: str) -> str:
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return str(_INV[c])


def aadhaar(r: random.Random) -> str:
    body = str(r.randint(2, 9)) + "".join(r.choice("0123456789") for _ in range(10))
    v = body + verhoeff_digit(body)
    return r.choice([v, f"{v[:4]} {v[4:8]} {v[8:]}", f"{v[:4]}-{v[4:8]}-{v[8:]}"])


CARD_PREFIXES = [("2200", 16), ("2204", 16), ("6521", 16), ("6080", 16), ("8171", 16),
                 ("6212", 16), ("6250", 19), ("9792", 16), ("6362", 16), ("5067", 16),
                 ("6759", 16), ("5018", 18), ("2221", 16), ("2720", 16)]  # fmt: skip
FAKER_CARDS = ["visa13", "visa16", "visa19", "mastercard", "amex", "diners", "discover",
               "jcb16", "maestro"]  # fmt: skip


_CARD_FAKER = Faker("en_US")


def card(r: random.Random, f: Faker) -> str:
    if r.random() < 0.5:  # Faker's card types are the same in every locale: en_US has all
        digits = _CARD_FAKER.credit_card_number(r.choice(FAKER_CARDS))
    else:
        prefix, n = r.choice(CARD_PREFIXES)
        body = prefix + "".join(r.choice("0123456789") for _ in range(n - len(prefix) - 1))
        digits = body + luhn_digit(body)
    sep = r.choice([" ", "-", ".", "", " "])
    n = len(digits)
    if not sep:
        return digits
    if n == 15:
        groups = [4, 6, 5]
    elif n == 14:
        groups = [4, 6, 4]
    else:
        groups = r.choice([[4] * (n // 4) + ([n % 4] if n % 4 else []), [4, 4, n - 8]])
    out, at = [], 0
    for g in groups:
        out.append(digits[at : at + g])
        at += g
    return sep.join(out)


_GB = Faker("en_GB")
NO_IBAN = {"TH", "AR", "CO", "MX", "ID", "VN", "ZA", "CA", "NZ", "TW"}


def iban(r: random.Random, f: Faker) -> str:
    v = f.iban()
    # Faker's fallback prints GB IBANs a digit short, and it invents IBANs for countries
    # that have none (Thailand, Argentina, Colombia): both are replaced by a real GB one.
    if v[:2] != f.current_country_code() or v[:2] in NO_IBAN:
        v = _GB.iban()
    grouped = " ".join(v[i : i + 4] for i in range(0, len(v), 4))
    return r.choice([v, grouped, grouped.lower(), v.lower()])


IDN_TLDS = ["de", "рф", "中国", "jp", "com", "ελ", "भारत", "ไทย", "한국", "pl", "cz", "tr"]


def email(r: random.Random, f: Faker) -> str:
    if r.random() < 0.5:
        return str(f.email())
    local = "".join(ch for ch in f.first_name().lower() if ch.isalnum())
    local += r.choice([".", "_", ""]) + "".join(ch for ch in f.last_name().lower() if ch.isalnum())
    domain = "".join(ch for ch in f.city().lower() if ch.isalnum()) or "mail"
    return f"{local}@{domain}.{r.choice(IDN_TLDS)}"


def ip(r: random.Random, f: Faker) -> str:
    return str(f.ipv4_public() if r.random() < 0.7 else f.ipv6())


def lookalike(r: random.Random) -> str:
    kind = r.randrange(7)
    digits = "".join(r.choice("0123456789") for _ in range(r.choice([8, 9, 10, 11, 12, 16])))
    if kind == 0:  # a business number passing Luhn, with its word
        body = str(r.randint(1, 9)) + digits[1:]
        return f"{r.choice(LOOKALIKE_WORDS)} {body[:-1] + luhn_digit(body[:-1])}"
    if kind == 1:  # a business number, grouped
        return f"{r.choice(LOOKALIKE_WORDS)} {digits[:4]}-{digits[4:8]}-{digits[8:]}".rstrip("-")
    if kind == 2:  # a barcode
        body = str(r.randint(1, 9)) + "".join(r.choice("0123456789") for _ in range(11))
        total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
        return f"{r.choice(['EAN', 'barcode', 'GTIN', ''])} {body}{(10 - total % 10) % 10}".strip()
    if kind == 3:  # a version
        return r.choice(["version ", "v", "build "]) + ".".join(
            str(r.randint(0, 999)) for _ in range(r.choice([3, 4]))
        )
    if kind == 4:  # a quantity
        n = r.choice([3, 12, 250, 1200, 250_000, 12_500_000, 250_000_000])
        return f"+{n:,}".replace(",", r.choice([" ", ","])) + r.choice([" units", " pcs", " Stück"])
    if kind == 5:  # money
        n = r.choice([1_250_000, 12_500_000, 125_000_000])
        return r.choice(["€ ", "EUR ", "$"]) + f"{n:,}".replace(",", " ")
    month, day, hour, minute = (
        r.randint(1, 12),
        r.randint(1, 28),
        r.randint(0, 23),
        r.randint(0, 59),
    )
    return f"2024-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:00"


def place(template: str, value: str, word: str, f: Faker) -> tuple[str, int]:
    """The template filled in, and where the value starts."""
    parts = template.split("{v}")
    left = parts[0].format(w=word, n=f.name(), s=f.sentence(), c=f.city())
    right = parts[1].format(w=word, n=f.name(), s=f.sentence(), c=f.city())
    return left + value + right, len(left)


def build(split: str, n: int, seed: int) -> list[Text]:
    r = random.Random(f"{seed}-{split}")
    locales, family, offset = SPLITS[split]
    templates = FAMILIES[family]
    fakers = {loc: Faker(loc) for loc in sorted({*locales, *(x[1] for x in NATIONAL)})}
    _CARD_FAKER.seed_instance(seed)
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed * 100 + i + offset)
    out: list[Text] = []
    simple: list[tuple[str, Callable[[random.Random, Faker], str], str]] = [
        ("PHONE", lambda r, f: str(f.phone_number()), "phone"),
        ("CARD", card, "card"),
        ("IBAN", iban, "IBAN"),
        ("EMAIL", email, "e-mail"),
        ("IP", ip, "IP"),
    ]
    for _ in range(n):
        for kind, gen, word in simple:
            loc = r.choice(locales)
            f = fakers[loc]
            if kind == "PHONE":
                word = PHONE_WORDS[loc[:2]]
            try:
                value = gen(r, f)
            except AttributeError:  # a locale without that provider
                continue
            if kind == "PHONE" and sum(ch.isdigit() for ch in value) < 7:
                continue  # a service number ("998" in ar_AE), no one's phone
            text, at = place(r.choice(templates), value, word, f)
            out.append(Text(text, [(kind, at, at + len(value))]))
        for kind, loc, gen, word in NATIONAL:
            f = fakers[loc]
            value = str(gen(f))
            if kind == "FR_NIR" and r.random() < 0.5:
                value = " ".join([value[0], value[1:3], value[3:5], value[5:7], value[7:10],
                                  value[10:13], value[13:]])  # fmt: skip
            if kind == "BR_CPF" and r.random() < 0.5:
                value = value.replace(".", "").replace("-", "")
            text, at = place(r.choice(templates), value, word, f)
            out.append(Text(text, [(kind, at, at + len(value))]))
        value = aadhaar(r)
        text, at = place(r.choice(templates), value, "Aadhaar", fakers.get("en_IN", Faker()))
        out.append(Text(text, [("IN_AADHAAR", at, at + len(value))]))
        for _ in range(4):
            f = fakers[r.choice(locales)]
            value = lookalike(r)
            text, at = place(r.choice(templates).replace("{w}", "").strip() or "{v}", value, "", f)
            out.append(Text(text, [], [(at, at + len(value))]))
    return out


def score(texts: list[Text]) -> tuple[Counter[str], Counter[str], int, int, float, list[str]]:
    total: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    looks = damaged = 0
    examples: list[str] = []
    spent = 0.0
    for t in texts:
        t0 = time.perf_counter()
        found = detect(t.text)
        spent += time.perf_counter() - t0
        for kind, start, end in t.spans:
            total[kind] += 1
            if not any(e.kind == kind and e.start <= start and e.end >= end for e in found):
                leaked[kind] += 1
                got = [(e.kind.value, t.text[e.start : e.end]) for e in found]
                examples.append(f"{kind} leaked: {t.text!r} -> {got}")
        for start, end in t.lookalikes:
            looks += 1
            if any(e.start < end and start < e.end for e in found):
                damaged += 1
                examples.append(f"look-alike damaged: {t.text[start:end]!r} in {t.text!r}")
    return total, leaked, looks, damaged, spent * 1e6 / max(1, len(texts)), examples


def report(split: str, n: int, seed: int, errors: int) -> None:
    texts = build(split, n, seed)
    total, leaked, looks, damaged, us, examples = score(texts)
    print(f"\n{split}: {len(texts)} texts, {sum(total.values())} entities, {looks} look-alikes")
    print(f"{'kind':12} {'entities':>8} {'leaked':>7} {'leak %':>7}")
    for kind in sorted(total):
        print(
            f"{kind:12} {total[kind]:8} {leaked[kind]:7} {100 * leaked[kind] / total[kind]:6.2f}%"
        )
    print(f"look-alikes damaged: {damaged}/{looks} = {100 * damaged / max(1, looks):.2f}%")
    print(f"detect(): {us:.1f} µs per text (mean, {len(texts)} texts)")
    for line in examples[:errors]:
        print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="rounds (each ~24 texts)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    parser.add_argument("--errors", type=int, default=0, help="print N errors (not on test)")
    args = parser.parse_args()
    for split in SPLITS if args.split == "all" else (args.split,):
        report(split, args.n, args.seed, 0 if split == "test" else args.errors)


if __name__ == "__main__":
    main()
