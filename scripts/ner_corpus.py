"""Labelled sentences for the NER tagger, made from templates and faker (a dev dependency).

``training_set`` fills scripts/ner_templates.py's templates with names, addresses and
companies from faker's training locales; ``gazetteer`` lists those locales' first and last
names (faker is MIT-licensed; the lists ship as data in the model file). Everything is
seeded: the same call gives the same sentences.
"""

from __future__ import annotations

import importlib
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from faker import Faker

from scripts import ner_negatives
from scripts.ner_negatives import FRAMES, held_out
from scripts.ner_templates import BRANDS, MODEL_WORDS, PRODUCT_WORDS, SOFTWARE, TOPICS, TRAIN

__all__ = ["EXTRA_NAMES", "LOCALES", "Example", "Filler", "fill", "gazetteer", "training_set"]

# Language -> the faker locales its training sentences draw on.
LOCALES: dict[str, list[str]] = {
    "en": ["en_US", "en_GB"],
    "de": ["de_DE"],
    "fr": ["fr_FR"],
    "es": ["es_ES"],
    "it": ["it_IT"],
    "nl": ["nl_NL"],
    "pt": ["pt_PT"],
}
# More locales whose names (only) appear in English sentences: people of many origins.
EXTRA_NAMES = ["tr_TR", "hu_HU", "fi_FI", "ro_RO", "cs_CZ", "da_DK", "no_NO", "hr_HR", "sk_SK"]
_SLOT = re.compile(r"\{(\w+)\}")
_KIND = {
    "name": "PERSON", "name2": "PERSON", "first": "PERSON", "last": "PERSON",
    "addr": "ADDRESS", "street": "ADDRESS", "org": "ORG", "org2": "ORG",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    group: str = ""


def fill(template: str, value: Callable[[str], str], group: str = "") -> Example:
    """The template with each slot filled, and the spans of the slots that are entities."""
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    at = pos = 0
    for m in _SLOT.finditer(template):
        parts.append(template[pos : m.start()])
        at += m.start() - pos
        text = value(m.group(1))
        if m.group(1) in _KIND:
            spans.append((at, at + len(text), _KIND[m.group(1)]))
        parts.append(text)
        at += len(text)
        pos = m.end()
    parts.append(template[pos:])
    return Example("".join(parts), spans, group)


class Filler:
    """Slot values from one faker locale (names possibly from another), seeded."""

    def __init__(
        self, locale: str, names: str, seed: int, brands: list[str], part: str = "all"
    ) -> None:
        self.part = part
        self.fake = Faker(locale)
        self.fake.seed_instance(seed)
        self.people = Faker(names)
        self.people.seed_instance(seed + 1)
        self.rng = random.Random(seed)
        self.brands = brands

    def __call__(self, slot: str) -> str:
        if slot in ("name", "name2"):
            return self.name()
        if slot == "first":
            return str(self.people.first_name())
        if slot == "last":
            return str(self.people.last_name())
        if slot in ("org", "org2"):
            return self.company()
        if slot == "addr":
            return self.address()
        if slot == "street":
            return str(self.fake.street_address())
        if slot in ("city", "city2"):
            return str(self.fake.city())
        if slot in ("product", "product2"):
            return self.product()
        if slot == "code":
            return self.code()
        if slot.startswith("topic"):
            return self.rng.choice(TOPICS)
        look_alike = ner_negatives.value(slot, self.rng, self.part)
        return str(self.rng.randint(2, 9999)) if look_alike is None else look_alike

    def name(self) -> str:
        p = self.people
        first = str(p.first_name())
        if self.rng.random() < 0.1:
            first += " " + str(p.first_name())
        return first + " " + str(p.last_name())

    def company(self) -> str:
        for _ in range(20):  # a bare surname is no company name a reader can tell
            name = str(self.fake.company())
            if " " in name:
                return name
        return name + " GmbH"

    def address(self) -> str:
        f, r = self.fake, self.rng.random()
        if r < 0.3:
            return str(f.address())
        if r < 0.5:
            return str(f.street_address())
        return f"{f.street_address()}, {f.postcode()} {f.city()}"

    def product(self) -> str:
        r = self.rng.random()
        if r < 0.15:
            return f"{self.rng.choice(SOFTWARE)} {self.rng.randint(2, 2024)}"
        if r < 0.3:
            return f"{self.fake.city()}-{self.code()}"
        word = self.rng.choice(PRODUCT_WORDS)
        if r < 0.45:
            return f"{self.rng.choice(self.brands)} {self.rng.choice(MODEL_WORDS)}"
        if r < 0.6:
            return f"{self.rng.choice(self.brands)} {self.code()}"
        return f"{self.rng.choice(self.brands)} {word} {self.rng.randint(2, 99)}"

    def code(self) -> str:
        letters = "".join(
            self.rng.choice("ABCDEGHKMPRSTVXZ") for _ in range(self.rng.randint(1, 2))
        )
        return letters + str(self.rng.randint(1, 9999))


def training_set(per_template: int = 60, seed: int = 7, part: str = "all") -> list[Example]:
    """The training sentences; ``part`` "train" leaves out a fifth of the template families
    and look-alike words, which "dev" holds (for calibrating the tagger's margins)."""
    out: list[Example] = []
    for lang, templates in TRAIN.items():
        locales = LOCALES[lang]
        for t_i, template in enumerate(templates):
            if not _in_part(f"{lang}:{template}", part):
                continue
            for loc_i, locale in enumerate(locales):
                names = _names_locale(lang, locale, t_i, loc_i)
                filler = Filler(locale, names, seed + 1000 * t_i + loc_i, BRANDS, part)
                out += [fill(template, filler, lang) for _ in range(per_template)]
        for f_i, frame in enumerate(FRAMES[lang]):
            if _in_part(f"{lang}:{frame}", part):
                filler = Filler(locales[0], locales[0], seed + 500 + 1000 * f_i, BRANDS, part)
                out += [fill(frame, filler, lang) for _ in range(2 * per_template)]
        if part != "dev":
            filler = Filler(locales[0], locales[0], seed + 99, BRANDS, part)
            for template in random_contexts(lang, 40 * per_template, seed):
                out.append(fill(template, filler, lang))
    return out


def _in_part(family: str, part: str) -> bool:
    return part == "all" or held_out(family) == (part == "dev")


# Slots a random context is built around, with their weights.
_AROUND = {
    "name": 4,
    "first": 1,
    "last": 1,
    "addr": 2,
    "org": 2,
    "product": 3,
    "city": 1,
    "topic": 2,
}
_TITLED = {"en": ["Mr", "Ms", "Dr"], "de": ["Herr", "Frau"], "fr": ["M.", "Mme"],
           "es": ["señor", "señora"], "it": ["signor", "dott."], "nl": ["heer", "mevrouw"],
           "pt": ["senhor", "dona"]}  # fmt: skip


def random_contexts(lang: str, n: int, seed: int) -> list[str]:
    """Templates of the language's own words in random order around one slot: names and
    addresses away from the contexts the templates fix, so the tagger cannot learn those
    contexts by heart."""
    words = sorted({w for t in TRAIN[lang] for w in re.findall(r"(?<![{\w])[a-zà-ÿ]+(?![}\w])", t)})
    rng = random.Random(seed)
    slots, weights = zip(*_AROUND.items(), strict=True)
    out: list[str] = []
    for _ in range(n):
        slot = rng.choices(slots, weights)[0]
        core = "{" + slot + "}"
        if slot == "last":
            core = rng.choice(_TITLED[lang]) + " " + core
        before = rng.sample(words, rng.randint(0, 4))
        after = rng.sample(words, rng.randint(0, 4))
        text = " ".join([*before, core, *after]) + rng.choice([".", "", "?", "!"])
        out.append(text[0].upper() + text[1:] if rng.random() < 0.5 else text)
    return out


def _names_locale(lang: str, locale: str, t_i: int, loc_i: int) -> str:
    if lang == "en" and t_i % 3 == 2:  # a third of English templates meet foreign names
        return EXTRA_NAMES[(t_i + loc_i) % len(EXTRA_NAMES)]
    return locale


def _words(values: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for value in values:
        out.update(w.lower() for w in re.findall(r"\w+", value) if len(w) > 1 and w.isalpha())
    return out


def _keys(value: object) -> list[str]:
    if isinstance(value, Mapping):
        return [str(k) for k in value]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def gazetteer() -> tuple[list[str], list[str]]:
    """Sorted lower-case first and last names of every training locale."""
    first: set[str] = set()
    last: set[str] = set()
    locales = [loc for group in LOCALES.values() for loc in group] + EXTRA_NAMES
    for locale in locales:
        person = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            first |= _words(_keys(getattr(person, attr, ())))
        last |= _words(_keys(getattr(person, "last_names", ())))
    return sorted(first), sorted(last)
