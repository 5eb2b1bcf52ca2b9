"""Finding secrets in a text: every rule of patterns.py, overlaps resolved.

A rule runs only on a text holding one of its literals (a key prefix, ``://``, a word such
as ``password`` or ``token``): a substring test each, so a text with none costs a few µs.
Where two finds overlap, the provider's own shape wins over a generic one
(``api_key=sk-proj-…`` is an ``OPENAI_KEY``), then the longer.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from keel.guard.secrets.kinds import Secret, SecretKind
from keel.guard.secrets.patterns import CASED, FOLDED, RULES, Rule, in_prose, pem_body

__all__ = ["NEEDLE_MAX", "OPEN_KEY", "detect", "last_literal"]

# A private key block that has begun and not ended (yet): the rest of a whole text is the key.
OPEN_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:(?!-----END ).)*\Z",
                      re.DOTALL)  # fmt: skip

# The longest trigger literal: a text cut anywhere overlaps this much to find one across a cut.
NEEDLE_MAX = max(len(n) for n in CASED + FOLDED)


def last_literal(text: str) -> int:
    """Where the last trigger literal in ``text`` ends, or -1 if there is none: with none in
    a text, no rule can find anything in it."""
    lower = text.lower()
    ends = [i + len(n) for n in CASED if (i := text.rfind(n)) >= 0]
    ends += [i + len(n) for n in FOLDED if (i := lower.rfind(n)) >= 0]
    return max(ends, default=-1)


def detect(
    text: str, kinds: Collection[SecretKind] | None = None, *, final: bool = True
) -> list[Secret]:
    """The secrets in ``text``, in order, not overlapping. ``final``: nothing follows the text,
    so a private key cut off at its end is still a key (a stream passes False until it ends)."""
    lower = text.lower()
    present = {n for n in CASED if n in text}
    present.update(n for n in FOLDED if n in lower)
    if not present:
        return []
    found: list[tuple[int, Secret]] = []
    for rule in RULES:
        if (kinds is None or rule.kind in kinds) and not present.isdisjoint(rule.needs):
            found.extend((rule.priority, s) for s in _matches(rule, text))
    if final and (kinds is None or SecretKind.PRIVATE_KEY in kinds) and "PRIVATE KEY" in text:
        m = OPEN_KEY.search(text)
        if m is not None and pem_body(m.group()):
            found.append((0, Secret(SecretKind.PRIVATE_KEY, m.start(), m.end())))
    return _resolve(found)


def _matches(rule: Rule, text: str) -> list[Secret]:
    out = []
    for m in rule.pattern.finditer(text):
        group = rule.group
        if group:  # the first of the value's alternatives that matched
            group = next((g for g in range(group, len(m.groups()) + 1) if m.group(g)), group)
        value = m.group(group)
        if value and rule.check(value) and not (rule.prose and in_prose(text, m, group)):
            out.append(Secret(rule.kind, m.start(group), m.end(group)))
    return out


def _resolve(found: list[tuple[int, Secret]]) -> list[Secret]:
    if len(found) < 2:
        return [s for _, s in found]
    chosen: list[Secret] = []
    for _, s in sorted(found, key=lambda f: (f[0], -len(f[1]), f[1].start)):
        if all(s.end <= c.start or c.end <= s.start for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)
