"""Training the tagger: an averaged structured perceptron (Collins 2002) over the features of
keel.guard.ner.features, numpy only.

Each labelled text becomes its segments (runs of open tokens); a segment whose gold tags
Viterbi gets wrong moves the weights of its mistaken positions and transitions towards the
gold ones. The weights shipped are the average over every step, which generalises better
than the last. Nothing is random but the epoch order, drawn from a seeded generator, so the
same examples give the same weights, bit for bit.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from keel.guard.ner.features import Gazetteer, features, segments, tokenise
from keel.guard.ner.loader import Weights
from keel.guard.ner.model import TAGS, Tagger, allowed, viterbi

__all__ = ["Labelled", "Segment", "bio", "calibrate", "prepare", "train"]

Labelled = tuple[str, Sequence[tuple[int, int, str]]]  # text, (start, end, kind) spans
_TAG = {t: i for i, t in enumerate(TAGS)}


@dataclass(slots=True)
class Segment:
    feats: list[list[str]]
    gold: list[int]


def bio(text: str, spans: Sequence[tuple[int, int, str]]) -> tuple[list[int], list[int]]:
    """Gold tag ids per token, and the tokens of entities no segment covers (lost)."""
    tokens = tokenise(text)
    tags = [0] * len(tokens)
    for start, end, kind in spans:
        inside = [i for i, t in enumerate(tokens) if t.start >= start and t.end <= end]
        for n, i in enumerate(inside):
            tags[i] = _TAG[("B-" if n == 0 else "I-") + kind]
    covered = {i for run in segments(tokens) for i in run}
    lost = [i for i, t in enumerate(tags) if t and i not in covered]
    return tags, lost


def prepare(examples: Sequence[Labelled], gaz: Gazetteer) -> list[Segment]:
    out: list[Segment] = []
    for text, spans in examples:
        tokens = tokenise(text)
        tags, _ = bio(text, spans)
        for run in segments(tokens):
            out.append(Segment(features(text, tokens, gaz, run), tags[run.start : run.stop]))
    return out


class _Averaged:
    """Weights and the running sums that give their average without a copy per step."""

    def __init__(self, rows: int, cols: int) -> None:
        self.w = np.zeros((rows, cols))
        self.u = np.zeros((rows, cols))

    def add(self, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp], d: float, c: int) -> None:
        np.add.at(self.w, (rows, cols), d)
        np.add.at(self.u, (rows, cols), d * c)

    def average(self, c: int) -> npt.NDArray[np.float64]:
        return self.w - self.u / c


def train(
    examples: Sequence[Labelled],
    first: Sequence[str],
    last: Sequence[str],
    *,
    epochs: int = 6,
    seed: int = 0,
    keep: float = 0.05,
    hide: float = 0.5,
) -> Weights:
    """Weights for ``examples``; features whose averaged weights all stay under ``keep``
    are dropped (most of the table, for a smaller file and the same decisions).

    While training, the name lists lack a ``hide`` share of their names (chosen by a hash
    of the name), so the tagger also learns names from their context and shape: without
    that it would find only the names in its lists, since every training name is in them.
    The lists shipped are whole.
    """
    gaz = Gazetteer(_shown(first, hide), _shown(last, hide))
    segs = prepare(examples, gaz)
    index: dict[str, int] = {}
    ids = [
        np.array([[index.setdefault(f, len(index)) for f in row] for row in s.feats], np.intp)
        for s in segs
    ]
    k = len(TAGS)
    emit, trans = _Averaged(len(index), k), _Averaged(k + 1, k)
    mask = allowed(TAGS)
    rng = np.random.default_rng(seed)
    c = 1
    for _ in range(epochs):
        for j in rng.permutation(len(segs)):
            gold = np.array(segs[j].gold, np.intp)
            pred = np.array(viterbi(emit.w[ids[j]].sum(axis=1), trans.w + mask), np.intp)
            if not np.array_equal(pred, gold):
                _update(emit, trans, ids[j], gold, pred, c)
            c += 1
    return _pruned(index, emit.average(c), trans.average(c), list(first), list(last), keep)


def _shown(names: Sequence[str], hide: float) -> frozenset[str]:
    cut = int(hide * 1000)
    return frozenset(n for n in names if zlib.crc32(n.encode()) % 1000 >= cut)


def _update(
    emit: _Averaged,
    trans: _Averaged,
    ids: npt.NDArray[np.intp],
    gold: npt.NDArray[np.intp],
    pred: npt.NDArray[np.intp],
    c: int,
) -> None:
    wrong = np.nonzero(gold != pred)[0]
    rows = ids[wrong]
    width = rows.shape[1]
    emit.add(rows.ravel(), np.repeat(gold[wrong], width), 1.0, c)
    emit.add(rows.ravel(), np.repeat(pred[wrong], width), -1.0, c)
    start = len(TAGS)
    prev_g = np.concatenate([[start], gold[:-1]])
    prev_p = np.concatenate([[start], pred[:-1]])
    trans.add(prev_g, gold, 1.0, c)
    trans.add(prev_p, pred, -1.0, c)


def _pruned(
    index: dict[str, int],
    emit: npt.NDArray[np.float64],
    trans: npt.NDArray[np.float64],
    first: list[str],
    last: list[str],
    keep: float,
) -> Weights:
    strong = np.abs(emit).max(axis=1) >= keep
    names = [f for f, i in index.items() if strong[i]]
    rows = np.array([i for i in index.values() if strong[i]], np.intp)
    return Weights(
        list(TAGS), names, first, last, emit[rows].astype(np.float32), trans.astype(np.float32)
    )


def calibrate(tagger: Tagger, examples: Sequence[Labelled], beta: float = 1.0) -> dict[str, float]:
    """Each kind's margin: the least gap an entity needs for the best F-beta on
    ``examples`` (sentences held out of the tagger's training; a match is the kind and the
    exact span). A margin that changes nothing is 0."""
    scored: dict[str, list[tuple[float, bool]]] = {}
    gold: dict[str, int] = {}
    for text, spans in examples:
        want = {(s, e, k) for s, e, k in spans}
        for _, _, k in want:
            gold[k] = gold.get(k, 0) + 1
        for ent, gap in tagger.scored(text):
            key = (ent.start, ent.end, ent.kind.value)
            scored.setdefault(ent.kind.value, []).append((gap, key in want))
    return {k: _best_cut(sorted(v), gold.get(k, 0), beta) for k, v in sorted(scored.items())}


def _best_cut(ranked: list[tuple[float, bool]], gold: int, beta: float) -> float:
    """The cut in ``ranked`` (gap, right) ascending that maximises F-beta of what is kept."""
    tp = sum(right for _, right in ranked)
    fp = len(ranked) - tp
    best, cut = -1.0, 0.0
    b2 = beta * beta
    for i, (gap, right) in enumerate(ranked):
        score = (1 + b2) * tp / ((1 + b2) * tp + b2 * (gold - tp) + fp) if tp else 0.0
        if score > best:
            best, cut = score, (ranked[i - 1][0] + gap) / 2 if i else 0.0
        tp, fp = tp - right, fp - (not right)
    return round(cut, 4)
