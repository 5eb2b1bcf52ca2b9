"""The tagger: a linear-chain model over BIO tags, decoded per segment.

A token's score for each tag is the sum of its features' weight rows (one numpy gather per
text); a first-order transition table, with the BIO rule built in (``I-X`` only after
``B-X`` or ``I-X``), links neighbouring tags. Entities are the ``B-X I-X*`` runs, as
character spans into the text.

Decoding runs max-product forward and backward over all of a text's segments at once
(padded to the longest), so a long text costs as many numpy steps as its longest segment,
not as its tokens. The two passes give each token's max-marginals: the best path's score
and the best score of a path that puts the token outside any entity. Their gap is how much
the model would lose by dropping that token from the entity, and an entity is kept only if
one of its tokens has a gap of at least its kind's margin (calibrated by the training
script on sentences held out of training): a near tie between "a name" and "no name" is
no name, which is what spares "Zeiss Otus" and "Project Phoenix".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.guard.ner.features import Gazetteer, Rows, Token, segments, tokenise
from keel.guard.ner.loader import Floats, Weights
from keel.guard.pii.entities import Entity, Kind

__all__ = ["TAGS", "Tagger", "allowed", "decode", "entities_of", "viterbi"]

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


def decode(emit: Floats, lengths: Ints, trans: Floats) -> tuple[Ints, Floats]:
    """Best tags and each token's gap (best score minus the best with the token ``O``) for
    ``emit`` (segments, longest, tags), zero-padded past each segment's ``lengths``, which
    run longest first: at step ``i`` only the first segments, those still going, are
    worked on."""
    _, n, k = emit.shape
    body = trans[:k]
    alpha = np.zeros_like(emit)
    beta = np.zeros_like(emit)
    alpha[:, 0] = trans[k] + emit[:, 0]
    going = [int(np.count_nonzero(lengths > i)) for i in range(n)]
    for i in range(1, n):
        m = going[i]
        alpha[:m, i] = (alpha[:m, i - 1, :, None] + body).max(axis=1) + emit[:m, i]
    for i in range(n - 2, -1, -1):
        m = going[i + 1]
        beta[:m, i] = (body + (emit[:m, i + 1] + beta[:m, i + 1])[:, None, :]).max(axis=2)
    marginal = alpha + beta
    best = marginal.max(axis=2)
    return marginal.argmax(axis=2), best - marginal[:, :, 0]


def entities_of(
    tokens: Sequence[Token],
    tags: Sequence[str],
    gaps: Sequence[float] | None = None,
    margins: dict[str, float] | None = None,
) -> list[Entity]:
    """The ``B-X I-X*`` runs; with ``gaps``, only those where a token's gap reaches the
    kind's margin."""
    found: list[Entity] = []
    start = end = -1
    kind = ""
    gap = 0.0

    def close() -> None:
        if margins is None or gap >= margins.get(kind, 0.0):
            found.append(Entity(_KINDS[kind], start, end))

    for i, (tok, tag) in enumerate(zip(tokens, tags, strict=True)):
        here = gaps[i] if gaps is not None else 0.0
        if tag.startswith("I-") and tag[2:] == kind:
            end, gap = tok.end, max(gap, here)
            continue
        if kind:
            close()
            kind = ""
        if tag.startswith("B-"):
            kind, start, end, gap = tag[2:], tok.start, tok.end, here
    if kind:
        close()
    return found


class Tagger:
    """A ``Recogniser`` (keel.guard.pii.entities): ``tagger(text)`` -> entities."""

    def __init__(self, weights: Weights, margins: dict[str, float] | None = None) -> None:
        if weights.tags != TAGS:
            raise ValueError(f"model tags {weights.tags} are not keel's {TAGS}")
        self.weights = weights
        self.margins = dict(weights.margins if margins is None else margins)
        self.gazetteer = Gazetteer(frozenset(weights.first), frozenset(weights.last))
        self.index = {name: i + 1 for i, name in enumerate(weights.features)}
        self.rows = Rows(self.index.get, self.gazetteer)
        # Row 0 is the zero row every unknown feature reads.
        self.emit = np.vstack([np.zeros((1, len(TAGS)), np.float32), weights.emit])
        self.trans = (weights.trans + allowed(TAGS)).astype(np.float32)

    def __call__(self, text: str) -> list[Entity]:
        return [e for e, _ in self.scored(text, self.margins)]

    def scored(
        self, text: str, margins: dict[str, float] | None = None
    ) -> list[tuple[Entity, float]]:
        """Entities with their margin (the largest gap of their tokens); with ``margins``,
        only those that reach their kind's."""
        if text.islower() and not _DIGIT.search(text):
            return []  # nothing capitalised and no digit: no segment can open
        tokens = tokenise(text)
        runs = segments(tokens)
        if not runs:
            return []
        runs.sort(key=len, reverse=True)  # decode's order: longest first
        lengths = np.array([len(r) for r in runs], np.intp)
        flat = np.array([row for run in runs for row in self.rows.ids(text, tokens, run)])
        per_token = self.emit[flat].sum(axis=1)
        emit = np.zeros((len(runs), int(lengths[0]), len(TAGS)), np.float32)
        emit[np.arange(int(lengths[0])) < lengths[:, None]] = per_token
        tags, gaps = decode(emit, lengths, self.trans)
        found: list[tuple[Entity, float]] = []
        for j, run in enumerate(runs):
            toks = tokens[run.start : run.stop]
            names = [TAGS[t] for t in tags[j, : len(run)]]
            g = [float(x) for x in gaps[j, : len(run)]]
            for e in entities_of(toks, names, g, margins):
                found.append(
                    (e, max(g[i] for i, t in enumerate(toks) if e.start <= t.start < e.end))
                )
        found.sort(key=lambda pair: pair[0].start)
        return found

    def tag_ids(self, ids: Ints) -> list[int]:
        return viterbi(self.emit[ids].sum(axis=1), self.trans)
