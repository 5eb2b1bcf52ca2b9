"""The tagger: a linear-chain model over BIO tags, decoded by Viterbi per segment.

A token's score for each tag is the sum of its features' weight rows (one numpy gather per
segment); a first-order transition table, with the BIO rule built in (``I-X`` only after
``B-X`` or ``I-X``), links neighbouring tags. Entities are the ``B-X I-X*`` runs, as
character spans into the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.guard.ner.features import Gazetteer, Token, features, segments, tokenise
from keel.guard.ner.loader import Floats, Weights
from keel.guard.pii.entities import Entity, Kind

__all__ = ["TAGS", "Tagger", "allowed", "entities_of", "viterbi"]

TAGS = ["O", "B-PERSON", "I-PERSON", "B-ADDRESS", "I-ADDRESS", "B-ORG", "I-ORG"]
_KINDS = {"PERSON": Kind.PERSON, "ADDRESS": Kind.ADDRESS, "ORG": Kind.ORG}
_FORBIDDEN = -1e9
_DIGIT = re.compile("[0-9]")
Ints = npt.NDArray[np.intp]


def allowed(tags: Sequence[str]) -> Floats:
    """(len(tags) + 1, len(tags)): 0 where a transition is legal, a large negative where not;
    the last row is the start of a segment."""
    mask = np.zeros((len(tags) + 1, len(tags)), dtype=np.float32)
    for j, tag in enumerate(tags):
        if not tag.startswith("I-"):
            continue
        for i in range(len(tags) + 1):
            prev = tags[i] if i < len(tags) else "O"
            if prev[2:] != tag[2:]:
                mask[i, j] = _FORBIDDEN
    return mask


def viterbi(emit: npt.NDArray[Any], trans: npt.NDArray[Any]) -> list[int]:
    """The best tag sequence; ``emit`` (n, tags), ``trans`` as ``allowed`` shapes it."""
    n, k = emit.shape
    score = trans[k] + emit[0]
    back = np.zeros((n, k), dtype=np.intp)
    body = trans[:k]
    for i in range(1, n):
        cand = score[:, None] + body
        back[i] = cand.argmax(axis=0)
        score = cand.max(axis=0) + emit[i]
    best = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        best.append(int(back[i, best[-1]]))
    best.reverse()
    return best


def entities_of(tokens: Sequence[Token], tags: Sequence[str]) -> list[Entity]:
    found: list[Entity] = []
    start = end = -1
    kind = ""
    for tok, tag in zip(tokens, tags, strict=True):
        if tag.startswith("I-") and tag[2:] == kind:
            end = tok.end
            continue
        if kind:
            found.append(Entity(_KINDS[kind], start, end))
            kind = ""
        if tag.startswith("B-"):
            kind, start, end = tag[2:], tok.start, tok.end
    if kind:
        found.append(Entity(_KINDS[kind], start, end))
    return found


class Tagger:
    """A ``Recogniser`` (keel.guard.pii.entities): ``tagger(text)`` -> entities."""

    def __init__(self, weights: Weights) -> None:
        if weights.tags != TAGS:
            raise ValueError(f"model tags {weights.tags} are not keel's {TAGS}")
        self.weights = weights
        self.gazetteer = Gazetteer(frozenset(weights.first), frozenset(weights.last))
        self.index = {name: i + 1 for i, name in enumerate(weights.features)}
        # Row 0 is the zero row every unknown feature reads.
        self.emit = np.vstack([np.zeros((1, len(TAGS)), np.float32), weights.emit])
        self.trans = (weights.trans + allowed(TAGS)).astype(np.float32)

    def __call__(self, text: str) -> list[Entity]:
        if text.islower() and not _DIGIT.search(text):
            return []  # nothing capitalised and no digit: no segment can open
        tokens = tokenise(text)
        found: list[Entity] = []
        for run in segments(tokens):
            tags = self.tag_ids(self.ids(features(text, tokens, self.gazetteer, run)))
            found += entities_of(tokens[run.start : run.stop], [TAGS[t] for t in tags])
        return found

    def ids(self, feats: Sequence[Sequence[str]]) -> Ints:
        get = self.index.get
        return np.array([[get(f, 0) for f in row] for row in feats], dtype=np.intp)

    def tag_ids(self, ids: Ints) -> list[int]:
        return viterbi(self.emit[ids].sum(axis=1), self.trans)
