"""The secrets guard on a text: whole (``apply``), or streamed (``feed``/``flush``) so that no
part of a secret leaves before the whole of it has been seen.

What a stream holds back: its last token (a key is one run without spaces, and the next
chunk may make it longer), a ``password:`` still waiting for its value (a quoted one may
hold spaces), a ``-----BEGIN …`` that may open a private key, and a private key block until
its ``-----END`` line: a key has no length bound short enough to cut it anyway. A token
longer than ``MAX_TOKEN`` is let out but for its last ``MAX_TOKEN`` characters (no secret
the rules know is that long, but for a key block). The forwarded text's last ``CONTEXT``
characters stay as context, so ``password: `` in one chunk and ``hunter2`` in the next is
still a password.

Each kind redacted is kept in ``found``: a rule that blocks answers checks it after each
feed and stops the stream before what was fed is let out.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from keel.guard.secrets.detect import detect
from keel.guard.secrets.kinds import Secret, SecretKind

__all__ = ["CONTEXT", "MAX_TOKEN", "SecretGuard", "redact", "redact_found"]

MAX_TOKEN = 4096
CONTEXT = 256
_LAST_TOKEN = re.compile(r"\S+\Z")
_PENDING_VALUE = re.compile(
    r"(?i:passw\w*|pwd|passphrase|secret\w*|api[_\-]?key|token|authorization)"
    r"""["']?[ \t]*[:=]?[ \t]*(?:["'][^"'\n]*|(?:bearer|token|basic)[ \t]*)?\Z"""
)
_KEY_START = re.compile(r"-{1,5}(?:B(?:E(?:G(?:I(?:N(?: [A-Z0-9 ]{0,40})?)?)?)?)?)?\Z")
_OPEN_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY")
_END_KEY = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")


def label(kind: SecretKind) -> str:
    return f"[{kind.value}]"


def redact(text: str, kinds: Collection[SecretKind] | None = None) -> str:
    """``text`` with each secret replaced by its kind: ``[OPENAI_KEY]``."""
    return _rewrite(text, detect(text, kinds), 0)


def redact_found(text: str, found: list[Secret]) -> str:
    """``text`` with the secrets ``detect`` found in it replaced by their kinds."""
    return _rewrite(text, found, 0)


def _rewrite(text: str, found: list[Secret], base: int) -> str:
    """``text`` (which starts at ``base`` of the text ``found`` was found in), redacted."""
    parts: list[str] = []
    at = 0
    for s in found:
        start, end = max(s.start - base, 0), s.end - base
        if end <= 0 or start >= len(text):
            continue
        parts.append(text[at:start])
        parts.append(label(s.kind))
        at = min(end, len(text))
    parts.append(text[at:])
    return "".join(parts)


class SecretGuard:
    """One per text (per choice, content block, tool call's arguments)."""

    def __init__(self, kinds: Collection[SecretKind] | None = None) -> None:
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.found: set[str] = set()  # the kinds redacted so far
        self._context = ""
        self._held = ""

    @property
    def held(self) -> int:
        return len(self._held)

    def apply(self, text: str) -> str:
        """The guard on a whole text (a non-streamed answer)."""
        found = detect(text, self.kinds)
        self.found.update(s.kind.value for s in found)
        return _rewrite(text, found, 0) if found else text

    def feed(self, text: str) -> str:
        self._held += text
        return self._release(final=False)

    def flush(self) -> str:
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        work = self._context + self._held
        base = len(self._context)
        found = detect(work, self.kinds, final=final)
        cut = len(work) if final else _cut(work, base, found)
        ready = [s for s in found if s.end <= cut and s.end > base]
        out = work[base:cut]
        if ready:
            self.found.update(s.kind.value for s in ready)
            out = _rewrite(out, ready, base)
        self._context = work[max(0, cut - CONTEXT) : cut]
        self._held = work[cut:]
        return out


def _cut(work: str, base: int, found: list[Secret]) -> int:
    """How much of ``work`` may leave now: up to the earliest place a secret may still form."""
    end = len(work)
    cut = end
    last = _LAST_TOKEN.search(work, max(base, end - MAX_TOKEN))
    if last is not None:
        cut = last.start()
    for pattern in (_PENDING_VALUE, _KEY_START):
        m = pattern.search(work, max(base, end - 200))
        if m is not None:
            cut = min(cut, m.start())
    opened = _open_key(work, base)
    if opened is not None:
        cut = min(cut, opened)
    for s in found:  # never cut a secret in two
        if s.start < cut < s.end:
            cut = max(base, s.start)
    return max(cut, base)


def _open_key(work: str, base: int) -> int | None:
    """Where a private key block that has not ended begins, if one has."""
    start = None
    for m in _OPEN_KEY.finditer(work):
        if _END_KEY.search(work, m.end()) is None:
            start = m.start()
            break
    return None if start is None else max(start, base)
