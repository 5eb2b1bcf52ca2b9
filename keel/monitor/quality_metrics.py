"""Quality of a classifier from labelled predictions: accuracy, precision and recall per class
and their macro means, calibration (expected calibration error over 10 bins, Brier score), and
the two-proportion test a canary is judged by. Pure functions: the report and the monitor
share them.

- accuracy: labelled rows whose predicted label equals the true label, over labelled rows.
- precision of class c: rows predicted c that are c, over rows predicted c; recall of c: rows
  that are c predicted c, over rows that are c. Macro: their mean over the classes seen (in
  predictions or labels); a class never predicted has precision 0, as in scikit-learn.
- ECE (top-label): rows binned by their top probability into 10 equal bins of [0, 1]; the sum
  over bins of (rows in bin / rows) x |accuracy in bin - mean top probability in bin|.
- Brier: the mean over rows of the sum over classes of (p_c - [c is the true label])^2, for
  rows whose probability columns can be named: a classifier's columns are its classes in
  sorted order, so they are named when the distinct labels seen (predicted and true) are as
  many as the columns (ints sorted as numbers). Otherwise no Brier score.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["ClassScores", "Scores", "calibration", "classify", "proportions_test", "score"]

BINS = 10


@dataclass(frozen=True, slots=True)
class ClassScores:
    precision: float
    recall: float
    support: int  # rows whose true label is the class


@dataclass(frozen=True, slots=True)
class Scores:
    labelled: int
    correct: int
    accuracy: float | None
    macro_precision: float | None
    macro_recall: float | None
    classes: dict[str, ClassScores] = field(default_factory=dict)
    ece: float | None = None
    brier: float | None = None


Pair = tuple[str | None, str]  # (predicted, true)


def classify(pairs: Sequence[Pair]) -> Scores:
    """Accuracy and per-class precision and recall of (predicted, true) pairs."""
    if not pairs:
        return Scores(0, 0, None, None, None)
    correct = sum(1 for p, t in pairs if p == t)
    predicted = Counter(p for p, _ in pairs if p is not None)
    actual = Counter(t for _, t in pairs)
    hits = Counter(t for p, t in pairs if p == t)
    classes: dict[str, ClassScores] = {}
    for c in sorted({*predicted, *actual}, key=_order):
        precision = hits[c] / predicted[c] if predicted[c] else 0.0
        recall = hits[c] / actual[c] if actual[c] else 0.0
        classes[c] = ClassScores(precision, recall, actual[c])
    n = len(classes)
    return Scores(
        len(pairs), correct, correct / len(pairs),
        sum(s.precision for s in classes.values()) / n,
        sum(s.recall for s in classes.values()) / n,
        classes,
    )  # fmt: skip


Probable = tuple[str | None, str, Sequence[float]]  # (predicted, true, probabilities)


def calibration(
    rows: Sequence[Probable], names: Sequence[str]
) -> tuple[float | None, float | None]:
    """(ECE over 10 bins, Brier score) of rows with probabilities; ``names``: every label seen,
    to name the probability columns (see the module's docstring)."""
    rows = [r for r in rows if r[2]]
    if not rows:
        return None, None
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(BINS)]
    for predicted, true, probs in rows:
        top = max(probs)
        bins[min(int(top * BINS), BINS - 1)].append((top, predicted == true))
    ece = sum(
        len(b) / len(rows) * abs(sum(ok for _, ok in b) / len(b) - sum(p for p, _ in b) / len(b))
        for b in bins
        if b
    )
    return ece, _brier(rows, names)


def _brier(rows: Sequence[Probable], names: Sequence[str]) -> float | None:
    width = len(rows[0][2])
    columns = sorted(set(names), key=_order)
    if len(columns) != width or any(len(r[2]) != width for r in rows):
        return None
    index = {c: i for i, c in enumerate(columns)}
    total = 0.0
    for _, true, probs in rows:
        truth = index[true]
        total += sum((p - (1.0 if i == truth else 0.0)) ** 2 for i, p in enumerate(probs))
    return total / len(rows)


def score(rows: Sequence[Probable]) -> Scores:
    """Every metric of (predicted, true, probabilities) rows (probabilities may be empty)."""
    scores = classify([(p, t) for p, t, _ in rows])
    names = [n for p, t, _ in rows for n in (p, t) if n is not None]
    ece, brier = calibration(rows, names)
    return Scores(
        scores.labelled, scores.correct, scores.accuracy, scores.macro_precision,
        scores.macro_recall, scores.classes, ece, brier,
    )  # fmt: skip


def proportions_test(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided p-value that proportion 1 (k1 of n1) is below proportion 2 (k2 of n2): the
    pooled two-proportion z-test, normal approximation."""
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0  # both all right or all wrong: no evidence either way
    z = (k1 / n1 - k2 / n2) / spread
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _order(label: str) -> tuple[int, float, str]:
    """Sort labels as a classifier orders its classes: numbers by value, then text."""
    try:
        return 0, float(label), ""
    except ValueError:
        return 1, 0.0, label
