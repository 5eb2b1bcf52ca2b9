"""Tokens and their features: the one definition that training and tagging share.

A text is split into word and punctuation tokens with their character spans. Only *open*
tokens are tagged: a token with a capital letter or a digit, and the few tokens around one
(``WINDOW``), where names, addresses and company names live. Every other token is outside
any entity without being scored, so long lower-case prose costs little more than the split.
Each run of open tokens (a segment) is tagged on its own.

A token's features read the token and its neighbours, never the tags, so they are computed
once per token and the tags are chosen by Viterbi over a first-order transition table.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["TOKEN", "WINDOW", "Gazetteer", "Rows", "Token", "features", "segments", "tokenise"]

# A number with its decimal or thousands separators is one token ("3.2", "80,000"): split,
# its "." would look like the end of an abbreviation ("Ltd.", "s.r.l.").
TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+|[^\w\s]")
# How many tokens either side of a capitalised or numeric token are tagged too: enough for
# "rue de la Paix", "van der Berg", "Smith and Sons".
WINDOW = 2
_SENTENCE_END = frozenset(".!?:;\n")


class Token(NamedTuple):  # a tuple: a long text makes hundreds, and tuples are quick to make
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Word lists the features look words up in (lower-cased)."""

    first: frozenset[str]
    last: frozenset[str]

    def tag(self, lower: str) -> str:
        first, last = lower in self.first, lower in self.last
        return "FL" if first and last else "F" if first else "L" if last else "-"


def tokenise(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


_HAS_DIGIT = re.compile(r"\d")


def _seed(tok: str) -> bool:
    return tok[0].isupper() or (not tok.isalpha() and _HAS_DIGIT.search(tok) is not None)


def segments(tokens: list[Token]) -> list[range]:
    """The runs of open tokens, as index ranges into ``tokens``; a run is cut at a
    sentence's end, so no run is much longer than a sentence (decoding steps as many times
    as the longest run has tokens)."""
    seeds = [i for i, t in enumerate(tokens) if _seed(t.text)]
    runs: list[range] = []
    for i in seeds:
        lo, hi = max(0, i - WINDOW), min(len(tokens), i + WINDOW + 1)
        if runs and lo <= runs[-1].stop:
            runs[-1] = range(runs[-1].start, max(hi, runs[-1].stop))
        else:
            runs.append(range(lo, hi))
    return [piece for run in runs for piece in _cut(tokens, run)]


def _cut(tokens: list[Token], run: range) -> list[range]:
    at = [j for j in range(run.start + 2, run.stop) if _ends_sentence(tokens, j)]
    if not at:
        return [run]
    bounds = [run.start, *at, run.stop]
    return [range(a, b) for a, b in itertools.pairwise(bounds)]


def _ends_sentence(tokens: list[Token], j: int) -> bool:
    """Whether a sentence ends just before token ``j``: "!" or "?", or "." after a
    lower-case word of five letters or more ("yesterday.", not "Dr.", "dott.", "o.o.")."""
    end = tokens[j - 1]
    if end.text in "!?" and tokens[j].start > end.end:
        return True
    word = tokens[j - 2].text
    return end.text == "." and len(word) >= 5 and word.isalpha() and word.islower()


def shape(tok: str) -> str:
    """Character classes with repeats collapsed: Anna -> Xx, X200 -> Xd, GmbH -> XxXx."""
    out: list[str] = []
    for ch in tok[:12]:
        c = "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _word(tok: str, gaz: Gazetteer) -> tuple[str, str, str]:
    lower = tok.lower()
    return lower, shape(tok), gaz.tag(lower)


def features(
    text: str, tokens: list[Token], gaz: Gazetteer, run: range | None = None
) -> list[list[str]]:
    """The feature names of the tokens in ``run`` (all: None), the same for training and
    tagging."""
    run = range(len(tokens)) if run is None else run
    n = len(tokens)
    lo, hi = max(0, run.start - 2), min(n, run.stop + 2)
    words = {j: _word(tokens[j].text, gaz) for j in range(lo, hi)}
    pad = ("<s>", "<s>", "-")
    out: list[list[str]] = []
    for i in run:
        tok = tokens[i]
        lower, shp, g = words[i]
        p1, p2 = words[i - 1] if i > 0 else pad, words[i - 2] if i > 1 else pad
        n1 = words[i + 1] if i + 1 < n else pad
        n2 = words[i + 2] if i + 2 < n else pad
        glue_l = i > 0 and tokens[i - 1].end == tok.start
        glue_r = i + 1 < n and tokens[i + 1].start == tok.end
        starts = i == 0 or _starts_sentence(text, tokens[i - 1], tok)
        digits = sum(ch.isdigit() for ch in tok.text)
        out.append(
            [
                "b",
                "w=" + lower,
                "s3=" + lower[-3:],
                "s4=" + lower[-4:],
                "p3=" + lower[:3],
                "sh=" + shp,
                "g=" + g,
                "g+sh=" + g + shp,
                f"d={min(digits, 6)}/{len(tok.text) - digits > 0}",
                f"st={starts}/{shp}",
                f"gl={glue_l}{glue_r}/{shp}",
                "w-1=" + p1[0],
                "w-2=" + p2[0],
                "w+1=" + n1[0],
                "w+2=" + n2[0],
                "sh-1=" + p1[1] + "/" + shp,
                "sh+1=" + shp + "/" + n1[1],
                "sh+2=" + n1[1] + "/" + n2[1],
                "g-1=" + p1[2] + "/" + g,
                "g+1=" + g + "/" + n1[2],
                "w-1,w=" + p1[0] + "/" + lower,
                "w,w+1=" + lower + "/" + n1[0],
            ]
        )
    return out


def _starts_sentence(text: str, prev: Token, tok: Token) -> bool:
    if prev.text in _SENTENCE_END:
        return True
    return "\n" in text[prev.end : tok.start]


def known(words: Collection[str]) -> frozenset[str]:
    return frozenset(w.lower() for w in words)


# A word's cached reading: lower, shape, gazetteer tag, its own features' rows (the first nine
# of ``features``), and its rows as a neighbour (w-1, w-2, w+1, w+2).
_Word = tuple[str, str, str, tuple[int, ...], tuple[int, int, int, int]]


class Rows:
    """The rows ``features`` names, looked up in ``index`` (0: unknown), for tagging.

    The same features in the same order as ``features``, but what depends on one word only
    is computed once per distinct word and kept, so a long text pays for its new words and
    a few lookups per token. The cache is bounded: it is emptied when it grows past
    ``limit`` words.
    """

    def __init__(self, get: Callable[[str, int], int], gaz: Gazetteer, limit: int = 50_000):
        self.get = get
        self.gaz = gaz
        self.limit = limit
        self.words: dict[str, _Word] = {}
        self.pad = self._read("<s>", ("<s>", "<s>", "-"))

    def word(self, tok: str) -> _Word:
        known = self.words.get(tok)
        if known is None:
            if len(self.words) >= self.limit:
                self.words.clear()
            known = self.words[tok] = self._read(tok, _word(tok, self.gaz))
        return known

    def _read(self, tok: str, w: tuple[str, str, str]) -> _Word:
        get, (lower, shp, g) = self.get, w
        digits = sum(ch.isdigit() for ch in tok)
        own = ("b", "w=" + lower, "s3=" + lower[-3:], "s4=" + lower[-4:], "p3=" + lower[:3],
               "sh=" + shp, "g=" + g, "g+sh=" + g + shp,
               f"d={min(digits, 6)}/{len(tok) - digits > 0}")  # fmt: skip
        near = (get("w-1=" + lower, 0), get("w-2=" + lower, 0), get("w+1=" + lower, 0),
                get("w+2=" + lower, 0))  # fmt: skip
        return lower, shp, g, tuple(get(f, 0) for f in own), near

    def ids(self, text: str, tokens: list[Token], run: range) -> list[list[int]]:
        """Row ids of the tokens in ``run``, one list of ``features``' width per token."""
        get, n, pad = self.get, len(tokens), self.pad
        lo, hi = max(0, run.start - 2), min(n, run.stop + 2)
        words = {j: self.word(tokens[j].text) for j in range(lo, hi)}
        out: list[list[int]] = []
        for i in run:
            tok = tokens[i]
            lower, shp, g, own, _ = words[i]
            p1, p2 = words[i - 1] if i > 0 else pad, words[i - 2] if i > 1 else pad
            n1 = words[i + 1] if i + 1 < n else pad
            n2 = words[i + 2] if i + 2 < n else pad
            glue_l = i > 0 and tokens[i - 1].end == tok.start
            glue_r = i + 1 < n and tokens[i + 1].start == tok.end
            starts = i == 0 or _starts_sentence(text, tokens[i - 1], tok)
            out.append(
                [
                    *own,
                    get(f"st={starts}/{shp}", 0),
                    get(f"gl={glue_l}{glue_r}/{shp}", 0),
                    p1[4][0],
                    p2[4][1],
                    n1[4][2],
                    n2[4][3],
                    get("sh-1=" + p1[1] + "/" + shp, 0),
                    get("sh+1=" + shp + "/" + n1[1], 0),
                    get("sh+2=" + n1[1] + "/" + n2[1], 0),
                    get("g-1=" + p1[2] + "/" + g, 0),
                    get("g+1=" + g + "/" + n1[2], 0),
                    get("w-1,w=" + p1[0] + "/" + lower, 0),
                    get("w,w+1=" + lower + "/" + n1[0], 0),
                ]
            )
        return out
