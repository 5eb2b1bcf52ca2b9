"""The rules: which known prompt-injection families a text shows, and a score from them.

The families' patterns live in ``override`` and ``covert``. Besides the text as written, the
rules read its obfuscated views (leetspeak, spaced letters, ROT13) and decoded base64 and hex
runs (``views``); a family found only there also counts as ``obfuscated`` or ``encoded``, and
look-alike or invisible characters around a hit count as ``obfuscated`` too.

A family's weight is how sure a hit alone makes us; the rule score combines the families that
hit as independent evidence (noisy-OR), so two families together outweigh either one.
"""

from __future__ import annotations

from collections.abc import Iterator

from keel.guard.injection.covert import COVERT
from keel.guard.injection.family import Family
from keel.guard.injection.override import OVERRIDE
from keel.guard.injection.text import collapse, fold, has_disguise, words
from keel.guard.injection.views import Readings, readings

__all__ = ["FAMILIES", "family_hits", "rule_hits", "rule_score"]

_FAMILIES: dict[str, Family] = OVERRIDE | COVERT
#: Family name -> weight: the pattern families, then the two that views of the text reveal.
FAMILIES: dict[str, float] = {name: f.weight for name, f in _FAMILIES.items()} | {
    "obfuscated": 0.8,  # a family hit only after undoing leetspeak, letter spacing or look-alikes
    "encoded": 0.9,  # a family hit inside base64 or hex
}


def rule_hits(
    text: str, folded: str | None = None, plain: str | None = None, read: Readings | None = None
) -> tuple[str, ...]:
    """The families found in ``text``, in ``FAMILIES`` order. ``folded``, ``plain`` and
    ``read`` are ``fold(text)``, ``collapse(folded)`` and their ``readings`` when the caller
    has them already."""
    folded = fold(text) if folded is None else folded
    plain = collapse(folded) if plain is None else plain
    read = readings(text, folded, plain) if read is None else read
    found = set(family_hits(plain, read.present))
    if found and has_disguise(text):
        found.add("obfuscated")
    hidden: set[str] = set()
    for view in read.obfuscated:
        hidden.update(family_hits(view, words(view)))
    if hidden - found:
        found |= hidden | {"obfuscated"}
    for view in read.decoded:
        inner = set(family_hits(view, words(view)))
        if inner:
            found |= inner | {"encoded"}
    return tuple(name for name in FAMILIES if name in found)


def family_hits(plain: str, present: frozenset[str] | None) -> Iterator[str]:
    """The pattern families matching normalised text whose words are ``present``. With None,
    every exact pattern runs, without anchors or prefilters: slower, and by construction the
    same answer (a test checks it on the corpus)."""
    for name, family in _FAMILIES.items():
        if present is None:
            if any(p.exact.search(plain) for p in family.patterns):
                yield name
            continue
        if family.anchors.isdisjoint(present):
            continue
        if any(p.may_match(present) and p.search(plain) for p in family.patterns):
            yield name


def rule_score(families: tuple[str, ...] | list[str] | set[str]) -> float:
    """Noisy-OR of the families' weights: 0 with none, at least the strongest weight with any."""
    miss = 1.0
    for name in families:
        miss *= 1.0 - FAMILIES[name]
    return 1.0 - miss
