"""How an injection pattern is written: a regex with anchor words, grouped into families.

Python's regex engine tries every alternative at every position, ~10 µs per pattern on a
short message. So each pattern names anchor words it cannot match without, and runs only when
one of each group of them is among the text's words (set lookups); ``tests/guard`` checks on
the whole corpus that anchors never change an answer. A pattern is also compiled without its
leading ``\\b``: that matches a superset, and a pattern starting with literals lets the engine
skip ahead to them, 2-20x faster; only its rare matches are checked with the exact pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["GAP", "NEAR", "Family", "Pattern", "family"]


@dataclass(frozen=True, slots=True)
class Pattern:
    anchors: tuple[frozenset[str], ...]  # the text must hold a word of every group
    exact: re.Pattern[str]
    fast: re.Pattern[str]  # a superset of ``exact``, searched first: see ``family``

    def may_match(self, present: frozenset[str]) -> bool:
        return not any(map(present.isdisjoint, self.anchors))

    def search(self, plain: str) -> bool:
        return self.fast.search(plain) is not None and self.exact.search(plain) is not None


@dataclass(frozen=True, slots=True)
class Family:
    weight: float
    anchors: frozenset[str]  # the words of its patterns' first groups: one must be present
    patterns: tuple[Pattern, ...]


def family(weight: float, *patterns: tuple[str, ...]) -> Family:
    """Patterns as (anchors, regex) or (anchors, regex, prefilter). Anchors are words, "&"
    separating groups that must all be present, e.g. "send post & password token". A
    prefilter is a cheaper regex that every match of the pattern also matches, starting with a
    literal; without one, the pattern less its leading ``\\b`` serves."""
    built = tuple(_pattern(*spec) for spec in patterns)
    return Family(weight, frozenset().union(*(p.anchors[0] for p in built)), built)


def _pattern(anchors: str, regex: str, prefilter: str | None = None) -> Pattern:
    groups = tuple(frozenset(group.split()) for group in anchors.split("&"))
    fast = regex.removeprefix(r"\b") if prefilter is None else prefilter
    return Pattern(groups, re.compile(regex), re.compile(fast))


GAP = r"[^.!?\n]{0,40}?"  # a few words within one sentence
NEAR = r"[^.!?\n]{0,20}?"
