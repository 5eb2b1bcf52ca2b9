"""Write the labelled prompt-injection corpus: python scripts/injection_corpus.py [--out PATH]

The corpus is templated and synthetic: every text is a template from injection_corpus.toml
(or injection_corpus_langs.toml: 30 languages, more disguises; injection_corpus_more.toml
and injection_corpus_docs.toml extend both) with its [[slots]] filled from the pools, some
then obfuscated or encoded. Every template list and every pool is split once by a seeded
shuffle into train (60%), validation (15%) and held-out (25%) parts, and an example of a
split is built only from that split's parts: held-out examples share no template and no
filler with the others. That makes the held-out numbers a test of generalising to new
phrasings of the same families, not to new attack families, nor to real traffic. Validation
is built the same way, for choosing hyperparameters without looking at the held-out split;
the shipped model trains on train and validation together.

Each JSON line: id, split (train | validation | heldout), label (1 = injection), kind, family,
lang, role (user | tool), template, text. Same seed, same file, byte for byte.
"""

from __future__ import annotations

import argparse
import base64
import codecs
import collections
import json
import random
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = "keel-injection-corpus-v1"
SHARES = {"train": 0.6, "validation": 0.15, "heldout": 0.25}
OUT = Path(__file__).parents[1] / "tests" / "guard" / "data" / "injection_corpus.jsonl"
SPLITS = tuple(SHARES)
_SLOT = re.compile(r"\[\[(\w+)(?:\|(\w+))?\]\]")
MATERIAL = tomllib.loads((Path(__file__).parent / "injection_corpus.toml").read_text("utf-8"))
LANGS = tomllib.loads((Path(__file__).parent / "injection_corpus_langs.toml").read_text("utf-8"))
# More rounds of material (the second: more phrasings per language and more families; the
# third: instructions to agents in many document shapes, and documents that instruct people):
# their lists extend the lists of the same name in the two files above, or are new.
ROUNDS = [
    tomllib.loads((Path(__file__).parent / f"injection_corpus_{name}.toml").read_text("utf-8"))
    for name in ("more", "docs")
]


def _merge(lists: dict[str, list[str]], homes: tuple[dict[str, list[str]], ...]) -> None:
    """Each list extends the first of ``homes`` that has one of its name, or is added to the
    last."""
    for name, items in lists.items():
        home = next((h for h in homes if name in h), homes[-1])
        home[name] = home.get(name, []) + items


for _round in ROUNDS:
    _merge(_round.get("pools", {}), (MATERIAL["pools"], MATERIAL["templates"], LANGS["pools"]))
    _merge(_round.get("templates", {}), (MATERIAL["templates"], LANGS["extra_templates"]))
    _merge(_round.get("lang_templates", {}), (LANGS["templates"],))
# (category kind, label, role, templates, count for English, count per other language); a
# tool-role category's templates go inside the English document wrappers unless the round
# says its templates are whole documents already (wrap = false).
_PER_LANGUAGE: tuple[tuple[str, int, str, str, int, int, bool], ...] = (
    ("direct", 1, "user", "ml_direct", 160, 80, True),
    ("benign", 0, "user", "ml_benign", 160, 80, True),
    ("indirect", 1, "tool", "ml_indirect", 180, 45, True),
    ("benign", 0, "tool", "ml_doc_benign", 140, 45, True),
    *(
        (c["kind"], c["label"], c["role"], c["templates"], c["en"], c["other"], c["wrap"])
        for _round in ROUNDS
        for c in _round.get("lang_categories", [])
    ),
)


def _language_material() -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """injection_corpus_langs.toml's templates made per language, and their categories."""
    templates: dict[str, list[str]] = dict(LANGS["extra_templates"])
    categories: list[dict[str, Any]] = []
    for lang in LANGS["langs"]["list"]:
        for kind, label, role, name, en, other, wrap in _PER_LANGUAGE:
            made = f"{name}_{lang}"
            templates[made] = [t.replace("{L}", lang) for t in LANGS["templates"][name]]
            spec = {"label": label, "kind": kind, "family": "multilingual", "lang": lang}
            spec |= {"name": f"{kind}.{name}.{lang}", "role": role}
            count = en if lang == "en" else other
            if role == "tool" and wrap:
                spec |= {"templates": "wrappers_en", "inner": made}
                spec["name"] += ".doc"
            else:
                spec["templates"] = made
            categories.append(spec | {"count": count})
    extras = (("t_obf_more", 1, "obfuscated", 150), ("t_obf_benign", 0, "benign", 150),
              ("t_discussion", 0, "hard_negative", 300))  # fmt: skip
    for name, label, kind, count in extras:
        spec = {"name": name, "label": label, "kind": kind, "family": "obfuscated", "lang": "en"}
        categories.append(spec | {"role": "user", "templates": name, "count": count})
    for spec in (c for r in ROUNDS for c in r.get("categories", [])):
        categories.append(spec | {"family": spec.get("family", "more")})
    return templates, categories


_MORE_TEMPLATES, _MORE_CATEGORIES = _language_material()
TEMPLATES: dict[str, list[str]] = MATERIAL["templates"] | _MORE_TEMPLATES
CATEGORIES: list[dict[str, Any]] = MATERIAL["categories"] + _MORE_CATEGORIES
_ALL: dict[str, list[str]] = MATERIAL["pools"] | LANGS["pools"] | TEMPLATES


def partition(name: str, items: list[str]) -> dict[str, list[str]]:
    """The pool's parts per split: a seeded shuffle, cut into held-out, validation and train.
    A part that would be empty shares the train part (only two-item pools, for validation)."""
    order = list(items)
    random.Random(f"{SEED}:pool:{name}").shuffle(order)
    cut = max(1, round(len(order) * SHARES["heldout"])) if len(order) > 1 else 0
    rest = order[cut:] or order
    val = max(1, round(len(rest) * SHARES["validation"] / 0.75)) if len(rest) > 1 else 0
    train = rest[val:] or rest
    return {"heldout": order[:cut] or order, "validation": rest[:val] or train, "train": train}


# A list holding one item twice could put it in two splits (and records name a template by
# its first index): refused.
_TWICE = {name: items for name, items in _ALL.items() if len(set(items)) < len(items)}
if _TWICE:
    raise SystemExit(f"lists with repeated items: {sorted(_TWICE)}")
_HARD = re.compile(r"\[\[(ml_hard|disc_open|wu_)")
PARTS = {name: partition(name, items) for name, items in _ALL.items()}

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
# Cyrillic look-alikes of a, e, o, p, c, i, x (escaped: the letters are the point).
_CYRILLIC = dict(zip("aeopcix", "\u0430\u0435\u043e\u0440\u0441\u0456\u0445", strict=True))


def _leet(text: str, rng: random.Random) -> str:
    return "".join(_LEET[c] if c in _LEET and rng.random() < 0.7 else c for c in text)


def _spaced(text: str, rng: random.Random) -> str:
    sep = rng.choice([" ", "-", "."])
    gap = "   " if sep == " " else " "
    return gap.join(sep.join(word) for word in text.split())


def _zero_width(text: str, rng: random.Random) -> str:
    return "".join(c + "\u200b" if c.isalpha() and rng.random() < 0.3 else c for c in text)


def _homoglyph(text: str, rng: random.Random) -> str:
    return "".join(_CYRILLIC[c] if c in _CYRILLIC and rng.random() < 0.5 else c for c in text)


def _hex(text: str, rng: random.Random) -> str:
    digits = text.encode().hex()
    pairs = [digits[i : i + 2] for i in range(0, len(digits), 2)]
    return rng.choice(["".join, " ".join, lambda p: "".join(f"\\x{b}" for b in p)])(pairs)


MODIFIERS: dict[str, Callable[[str, random.Random], str]] = {
    "cap": lambda s, _: s[:1].upper() + s[1:],
    "upper": lambda s, _: s.upper(),
    "lowerfirst": lambda s, _: s[:1].lower() + s[1:],
    "json": lambda s, _: json.dumps(s, ensure_ascii=False)[1:-1],
    "b64": lambda s, _: base64.b64encode(s.encode()).decode(),
    "hex": _hex,
    "leet": _leet,
    "spaced": _spaced,
    "zw": _zero_width,
    "homoglyph": _homoglyph,
    "rot13": lambda s, _: codecs.encode(s, "rot13"),
    "fullwidth": lambda s, _: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s),
    "b32": lambda s, _: base64.b32encode(s.encode()).decode(),
    "bin": lambda s, _: " ".join(f"{b:08b}" for b in s.encode()),
    "rev": lambda s, _: s[::-1],
    "tags": lambda s, _: "".join(chr(0xE0000 + ord(c)) for c in s if ord(c) < 0x80),
}


def fill(template: str, split: str, rng: random.Random, inner: str) -> str:
    def slot(match: re.Match[str]) -> str:
        name, modifier = match.groups()
        pool = inner if name == "inner" else name
        value = fill(rng.choice(PARTS[pool][split]), split, rng, inner)
        return MODIFIERS[modifier](value, rng) if modifier else value

    return _SLOT.sub(slot, template)


def examples(category: dict[str, Any], split: str, seen: set[str]) -> list[dict[str, object]]:
    """Up to the split's share of the category's count, skipping texts already made."""
    want = round(category["count"] * SHARES[split])
    rng = random.Random(f"{SEED}:{category['name']}:{split}")
    templates = PARTS[category["templates"]][split]
    made: list[dict[str, object]] = []
    for _ in range(want * 30):
        if len(made) == want:
            break
        template = rng.choice(templates)
        text = fill(template, split, rng, category.get("inner", ""))
        if text in seen:
            continue
        seen.add(text)
        number = TEMPLATES[category["templates"]].index(template)
        record = {key: category[key] for key in ("label", "kind", "family", "lang", "role")}
        if not record["label"] and _HARD.search(template):
            record["kind"] = "hard_negative"  # a benign template built from look-alikes
        made.append(
            {
                "split": split,
                **record,
                "template": f"{category['templates']}#{number}",
                "text": text,
            }
        )
    return made


def corpus() -> list[dict[str, object]]:
    seen: set[str] = set()
    records = [r for c in CATEGORIES for split in SPLITS for r in examples(c, split, seen)]
    return [{"id": f"inj-{i:05d}", **r} for i, r in enumerate(records, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    records = corpus()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    tally = collections.Counter((r["split"], r["label"]) for r in records)
    print(f"{len(records)} examples -> {args.out}")
    for split in SPLITS:
        print(f"  {split}: {tally[split, 1]} injections, {tally[split, 0]} benign")


if __name__ == "__main__":
    main()
