"""A data class's own identifiers (employee numbers, customer ids), defined in config:

    data_classes:
      staff:
        pii:
          prompts: redact
          recognisers:
            EMPLOYEE_ID: {pattern: "EMP-[0-9]{6}", checksum: luhn, context: [employee], window: 30}

A match counts when its checksum (if any) passes, over the match's digits (``mod97``: its
letters and digits, as in an IBAN), so "E1234566" is checked as 1234566; and, if context
words are given, when one of them stands within ``window`` characters before or after it.
The kind's name appears in placeholders (``[EMPLOYEE_ID]``,
``<EMPLOYEE_ID_1>``) like a built-in kind's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from keel.guard.pii.checksums import CHECKSUMS
from keel.guard.pii.entities import CustomKind

__all__ = ["MAX_WINDOW", "CustomMatcher", "custom_kind"]

# The farthest context words may be (the stream guard keeps this much forwarded text).
MAX_WINDOW = 64
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_NOT_DIGIT = re.compile(r"[^0-9]")
_OVER_LETTERS = frozenset({"mod97"})  # the checksums that read letters too


@dataclass(frozen=True, slots=True)
class CustomMatcher:
    pattern: re.Pattern[str]
    checksum: Callable[[str], bool] | None
    context: re.Pattern[str] | None
    window: int
    strip: re.Pattern[str] = _NOT_DIGIT  # what the checksum does not read

    def accept(self, text: str, m: re.Match[str]) -> int | None:
        if m.end() == m.start():
            return None
        if self.checksum is not None and not self.checksum(self.strip.sub("", m.group()).upper()):
            return None
        if self.context is not None and not self._context_near(text, m):
            return None
        return m.end()

    def pending(self, text: str, m: re.Match[str]) -> bool:
        """Context words after the match may still arrive (streams)."""
        return self.context is not None and m.end() + self.window > len(text)

    def _context_near(self, text: str, m: re.Match[str]) -> bool:
        assert self.context is not None
        before = self.context.search(text, max(0, m.start() - self.window), m.start())
        after = self.context.search(text, m.end(), m.end() + self.window)
        return before is not None or after is not None


def custom_kind(
    name: str,
    pattern: str,
    checksum: str | None = None,
    context: Sequence[str] = (),
    window: int = 40,
    ignore_case: bool = False,
) -> CustomKind:
    """The kind ``name`` found by ``pattern``; a ValueError says what is wrong with it."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
    if compiled.fullmatch(""):
        raise ValueError("pattern matches the empty string")
    check = None
    if checksum is not None:
        check = CHECKSUMS.get(checksum)
        if check is None:
            raise ValueError(f"unknown checksum {checksum!r}; use one of {', '.join(CHECKSUMS)}")
    if not 1 <= window <= MAX_WINDOW:
        raise ValueError(f"window must be between 1 and {MAX_WINDOW} characters")
    words = None
    if context:
        alternatives = "|".join(re.escape(w) for w in sorted(context, key=len, reverse=True))
        words = re.compile(rf"(?<![^\W\d_])(?:{alternatives})(?![^\W\d_])", re.IGNORECASE)
    strip = _NOT_ALNUM if checksum in _OVER_LETTERS else _NOT_DIGIT
    return CustomKind(name, CustomMatcher(compiled, check, words, window, strip))
