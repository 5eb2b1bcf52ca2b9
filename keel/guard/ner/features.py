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

import re
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["TOKEN", "WINDOW", "Gazetteer", "Token", "features", "segments", "tokenise"]

# A number with its decimal or thousands separators is one token ("3.2", "80,000"): split,
# its "." would look like the end of an abbreviation ("Ltd.", "s.r.l.").
TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+|[^\w\s]")
# How many tokens either side of a capitalised or numeric token are tagged too: enough for
# "rue de la Paix", "van der Berg", "Smith and Sons".
WINDOW = 2
_SENTENCE_END = frozenset(".!?:;\n")


@dataclass(frozen=True, slots=True)
class Token:
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


def _seed(tok: str) -> bool:
    return tok[0].isupper() or any(ch.isdigit() for ch in tok)


def segments(tokens: list[Token]) -> list[range]:
    """The runs of open tokens, as index ranges into ``tokens``."""
    seeds = [i for i, t in enumerate(tokens) if _seed(t.text)]
    runs: list[range] = []
    for i in seeds:
        lo, hi = max(0, i - WINDOW), min(len(tokens), i + WINDOW + 1)
        if runs and lo <= runs[-1].stop:
            runs[-1] = range(runs[-1].start, max(hi, runs[-1].stop))
        else:
            runs.append(range(lo, hi))
    return runs


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
