"""The secrets guard on a text: whole (``apply``), or streamed (``feed``/``flush``) so that no
part of a secret leaves before the whole of it has been seen.

What a stream holds back: its last token (a key is one run without spaces, and the next
chunk may make it longer), a ``password:`` still waiting for its value (a quoted one may
hold spaces), a ``-----BEGIN …`` that may open a private key, and a private key block until
its ``-----END`` line: a key has no length bound short enough to cut it anyway. A token
longer than ``MAX_TOKEN`` is let out in pieces but for its last ``MAX_TOKEN`` characters (no
secret the rules know is that long, but for a key block). The forwarded text's last
``CONTEXT`` characters stay as context, so ``password: `` in one chunk and ``hunter2`` in
the next is still a password.

Why a chunk costs about its own length: while the held text is one token and the chunk adds
no space to it, or is an open key block and the chunk brings no ``-----END``, nothing could
leave, and the rules are not run at all; otherwise they run over the new text, what was
held and the bounded context. Each held character is so scanned about once, not once per
chunk (a 4 KB base64 image in 20-character chunks was scanned 200 times).

Each kind found is kept in ``found``. A guard made with ``stop=True`` (a rule that blocks
answers) lets out only the text before the first secret it finds, then nothing more: the
caller checks ``found`` after each feed and ends the stream.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from keel.guard.secrets.detect import NEEDLE_MAX, detect, last_literal
from keel.guard.secrets.kinds import Secret, SecretKind

__all__ = ["CONTEXT", "MAX_TOKEN", "SecretGuard", "redact", "redact_found"]

MAX_TOKEN = 4096
CONTEXT = 256
# Up to the text's last whitespace: a match from the end back, linear where ``\S+\Z`` is not.
_UP_TO_LAST_SPACE = re.compile(r".*\s", re.DOTALL)
_SPACE = re.compile(r"\s")
# A token over MAX_TOKEN is let out when it has grown this much more (not at every chunk).
_TOKEN_SLACK = MAX_TOKEN // 4
# A name still waiting for its value; or a word after it with nothing but spaces since:
# prose may go on from it (then it is no value, patterns.in_prose), which the next chunk tells.
_PENDING_VALUE = re.compile(
    r"(?i:passw\w*|pwd|passphrase|secret\w*|api[_\-]?key|token|authorization)"
    r"""["']?[ \t]*[:=]?[ \t]*"""
    r"""(?:["'][^"'\n]*|(?:bearer|token|basic)[ \t]*|[A-Za-z][a-z]*[ \t]*)?\Z"""
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


# What the held text waits for, past which no chunk can let any of it out.
_ANYTHING, _A_SPACE, _A_KEY_END = 0, 1, 2


class SecretGuard:
    """One per text (per choice, content block, tool call's arguments)."""

    __slots__ = ("_context", "_held", "_literal", "_offset", "_waits", "found", "kinds", "stop",
                 "stopped")  # fmt: skip

    def __init__(self, kinds: Collection[SecretKind] | None = None, *, stop: bool = False) -> None:
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.found: set[str] = set()  # the kinds found so far
        self.stop = stop  # let out nothing from the first secret on
        self.stopped = False
        self._context = ""
        self._held = ""
        self._waits = _ANYTHING
        self._offset = 0  # where the context starts in the whole text
        self._literal = -1  # where the last trigger literal seen ends in the whole text

    @property
    def held(self) -> int:
        return len(self._held)

    def apply(self, text: str) -> str:
        """The guard on a whole text (a non-streamed answer)."""
        found = detect(text, self.kinds)
        if not found:
            return text
        self.found.update(s.kind.value for s in found)
        if self.stop:
            self.stopped = True
            return text[: found[0].start]
        return _rewrite(text, found, 0)

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        if self._still_waits(text):
            self._held += text
            return ""
        self._held += text
        return self._release(final=False)

    def flush(self) -> str:
        return "" if self.stopped else self._release(final=True)

    def _still_waits(self, text: str) -> bool:
        """Can ``text`` let nothing out? The rules would cut where they cut before."""
        if self._waits == _A_SPACE:
            return _SPACE.search(text) is None and len(self._held) + len(text) <= (
                MAX_TOKEN + _TOKEN_SLACK
            )
        if self._waits == _A_KEY_END:
            return "-----END" not in self._held[-8:] + text
        return False

    def _literals(self, work: str, base: int) -> bool:
        """Does ``work`` hold a trigger literal? Only the text not looked at before is read
        (what was held, with an overlap); the context's are remembered."""
        lo = max(0, base - NEEDLE_MAX + 1)
        end = last_literal(work[lo:])
        if end >= 0:
            self._literal = self._offset + lo + end
        return self._literal > self._offset

    def _release(self, final: bool) -> str:
        work = self._context + self._held
        base = len(self._context)
        found = detect(work, self.kinds, final=final) if self._literals(work, base) else []
        cut = len(work) if final else _cut(work, base, found)
        ready = [s for s in found if s.end <= cut and s.end > base]
        out = work[base:cut]
        if ready:
            self.found.update(s.kind.value for s in ready)
            if self.stop:
                self.stopped = True
                self._held = ""
                return work[base : max(base, ready[0].start)]
            out = _rewrite(out, ready, base)
        kept = max(0, cut - CONTEXT)
        self._context = work[kept:cut]
        self._offset += kept
        self._held = held = work[cut:]
        self._waits = _waits(held)
        return out


def _waits(held: str) -> int:
    if not held:
        return _ANYTHING
    if len(held) <= MAX_TOKEN and _SPACE.search(held) is None:
        return _A_SPACE
    if held.startswith("-----BEGIN") and _OPEN_KEY.match(held) and "-----END" not in held:
        return _A_KEY_END
    return _ANYTHING


def _cut(work: str, base: int, found: list[Secret]) -> int:
    """How much of ``work`` may leave now: up to the earliest place a secret may still form."""
    end = len(work)
    cut = _last_token(work, max(base, end - MAX_TOKEN))
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


def _last_token(work: str, lo: int) -> int:
    """Where the run of non-space characters that ends ``work`` starts (from ``lo`` on);
    the end if ``work`` ends with a space."""
    if lo >= len(work) or work[-1].isspace():
        return len(work)
    m = _UP_TO_LAST_SPACE.match(work, lo)
    return lo if m is None else m.end()


def _open_key(work: str, base: int) -> int | None:
    """Where a private key block that has not ended begins, if one has."""
    start = None
    for m in _OPEN_KEY.finditer(work):
        if _END_KEY.search(work, m.end()) is None:
            start = m.start()
            break
    return None if start is None else max(start, base)
