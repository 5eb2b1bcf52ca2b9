"""The guard on a streamed answer: text goes out as soon as no entity can still be forming.

``StreamGuard.feed`` returns what is safe to forward now and keeps back the shortest tail
that could still grow into an entity or a placeholder, so "john.doe@exam" + "ple.com" is
redacted as one address. Joined, the outputs equal the guard applied to the whole text.

Why the held tail can be short: within a match, whitespace is a single space between
number-like tokens (patterns.py). So only the last token, and before it a run of number-like
tokens joined by single spaces, can still be part of an entity that the next chunk completes;
everything before that run is final. Two more things wait: an unfinished ``<EMAIL_1>``, and
a date until the few words after it that could make it a date of birth have arrived. The
forwarded text's last characters stay as context for lookbehinds and birth words.

At most ``MAX_HOLD`` characters are held: a longer run (a table of numbers) is cut anyway,
outside any match already visible; only where matches themselves run that long can the
streamed result differ from the whole text's.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from keel.guard.pii.dates import MONTH_NUMBERS
from keel.guard.pii.detectors import LOOK_BEHIND, Scan, scan
from keel.guard.pii.entities import AnyKind, Entity
from keel.guard.pii.patterns import GROUP_TOKEN
from keel.guard.pii.rewrite import PLACEHOLDER, PLACEHOLDER_MAX, Labels, Pseudonymiser, rewrite

__all__ = ["MAX_HOLD", "StreamGuard"]

MAX_HOLD = 64
# Forwarded text kept as left context (lookbehinds, the words before a date of birth).
_CONTEXT = LOOK_BEHIND
# The earliest start from which the rest of the text could still be (part of) an entity.
_TAIL = re.compile(rf"(?:(?:{GROUP_TOKEN.pattern}) )*\S*\Z")
_OPEN_PLACEHOLDER = re.compile(r"<[A-Z0-9_]*\Z")
_LAST_TOKEN = re.compile(r"\S+\Z")
_WORD = re.compile(r"([^\W\d_]*)([.,]{0,2})")
_CHARSET_RUN = re.compile(r"[0-9A-Z+().,/:\-]*|[0-9]{1,2}(?:s|st|n|nd|r|rd|t|th|e|er)?[.,]?")
_MONTH_NAMES = frozenset(MONTH_NUMBERS)
_MONTH_PREFIXES = frozenset(name[:i] for name in MONTH_NUMBERS for i in range(1, len(name) + 1))


class StreamGuard:
    """One per streamed text (per choice): redacts ``redact_kinds``, restores placeholders."""

    def __init__(
        self,
        redact_kinds: Collection[AnyKind] = (),
        pseudonymiser: Pseudonymiser | None = None,
        *,
        numbered: bool = False,
        labels: Labels | None = None,
    ) -> None:
        self.kinds = frozenset(redact_kinds)
        self.pseudonymiser = pseudonymiser
        self._labels = labels if labels is not None else Labels(numbered)
        self._context = ""  # the original text already forwarded (its last _CONTEXT chars)
        self._held = ""

    @property
    def held(self) -> int:
        """How many characters are waiting."""
        return len(self._held)

    def feed(self, text: str) -> str:
        self._held += text
        return self._release(final=False)

    def flush(self) -> str:
        """The rest, at the end of the stream."""
        return self._release(final=True)

    def apply(self, text: str) -> str:
        """The same guard on a whole text (a non-streamed answer); not for use mid-stream."""
        if self.kinds:
            found = scan(text, 0, self.kinds).entities
            text = rewrite(text, found, lambda e, v: self._labels.label(e.kind, v))
        return self.pseudonymiser.restore(text) if self.pseudonymiser is not None else text

    def _release(self, final: bool) -> str:
        work = self._context + self._held
        base = len(self._context)
        found = scan(work, base, self.kinds) if self.kinds else Scan([], [], [])
        cut = len(work) if final else self._cut(work, base, found)
        out = work[base:cut]
        ready = [e for e in found.entities if e.end <= cut]
        if ready:
            shifted = [Entity(e.kind, e.start - base, e.end - base) for e in ready]
            out = rewrite(out, shifted, lambda e, v: self._labels.label(e.kind, v))
        if self.pseudonymiser is not None:
            out = self.pseudonymiser.restore(out)
        self._context = work[max(0, cut - _CONTEXT) : cut]
        self._held = work[cut:]
        return out

    def _cut(self, work: str, base: int, found: Scan) -> int:
        end = len(work)
        lo = max(base, end - MAX_HOLD)
        cut = end
        if self.kinds:
            cut = min(_tail_start(work, lo), *found.pending, end)
        spans = found.matches
        if self.pseudonymiser is not None:
            m = _OPEN_PLACEHOLDER.search(work, max(base, end - PLACEHOLDER_MAX))
            if m:
                cut = min(cut, m.start())
            spans = [*spans, *(m.span() for m in PLACEHOLDER.finditer(work, base))]
        return _outside(cut, spans, end)


def _tail_start(work: str, lo: int) -> int:
    """Where the part of ``work`` (from ``lo``) that may still become an entity begins."""
    last = _LAST_TOKEN.search(work, lo)
    if last is not None and not _may_be_group(last.group()):
        return last.start()  # a word: nothing before it can reach into the next chunk
    m = _TAIL.search(work, lo)
    return m.start() if m is not None else len(work)


def _may_be_group(token: str) -> bool:
    """Could ``token`` still grow into a number-like token (see patterns.py)?"""
    if _CHARSET_RUN.fullmatch(token):
        return True
    m = _WORD.fullmatch(token)
    if m is None:
        return False
    word, punctuation = m.group(1).lower(), m.group(2)
    return word in _MONTH_NAMES if punctuation else word in _MONTH_PREFIXES


def _outside(cut: int, spans: list[tuple[int, int]], end: int) -> int:
    """Move ``cut`` out of every match it would split: back to the match's start, or, where
    that would hold more than ``MAX_HOLD``, past its end once two characters after it are
    known. Only matches (or overlapping runs of them) about ``MAX_HOLD`` long are split."""
    back = _shift(cut, spans, forward=False)
    if end - back <= MAX_HOLD:
        return back
    ahead = _shift(cut, spans, forward=True)
    return ahead if ahead <= end - 2 else cut


def _shift(cut: int, spans: list[tuple[int, int]], forward: bool) -> int:
    moved = True
    while moved:  # each move goes the same way, so this ends
        moved = False
        for start, stop in spans:
            if start < cut < stop:
                cut, moved = (stop if forward else start), True
    return cut
