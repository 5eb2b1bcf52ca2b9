"""Train the prompt-injection classifier: python scripts/train_injection.py

Fits L2-regularised logistic regression on the corpus's train split (keel's own features,
readings and windows, keel.guard.injection.model) by full-batch Adam for a fixed number of
steps, with the length term, then fits the combiner (classifier logit + one indicator per rule
family -> calibrated score) on the validation split, which the classifier never saw, and writes
keel/guard/injection/data/model.json. Nothing is random (full batch, zero start, fixed step
counts, numpy's sequential bincount sums), so a re-run writes the same bytes.

It then prints precision, recall and F1 on the held-out split (new templates and fillers of
the same families) for the rules alone, the classifier alone and the combined score. The
independent evaluation, on families and fillers written apart, is scripts/injection_eval.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).parents[1]))

from keel.guard.injection import DEFAULT_THRESHOLD
from keel.guard.injection.about import CUES, about_cues
from keel.guard.injection.model import (
    BITS,
    MODEL_PATH,
    Combiner,
    InjectionModel,
    dump_model,
    features,
    sigmoid,
    window_members,
)
from keel.guard.injection.rules import FAMILIES, rule_hits
from keel.guard.injection.text import collapse, fold
from keel.guard.injection.views import readings

CORPUS = Path(__file__).parents[1] / "tests" / "guard" / "data" / "injection_corpus.jsonl"
SWEEP = (0.5, 0.7, 0.8, 0.9)  # thresholds a data class might choose, for the report
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]


def load(corpus: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]


def views(text: str) -> tuple[str, ...]:
    """What the guard's classifier reads of a text (guard.assess): the text, then its
    readings."""
    folded = fold(text)
    plain = collapse(folded)
    return (plain or " ", *readings(text, folded, plain).views)


def design(texts: list[str]) -> tuple[Ints, Ints, Floats, Ints, Floats]:
    """The window-by-feature matrix as coordinates (window, bucket, 1/sqrt(window's feature
    count)), each window's text, and each text's log(windows of the text as written)."""
    rows, cols, vals, owner, logn = [], [], [], [], []
    done = 0
    for i, text in enumerate(texts):
        for k, view in enumerate(views(text)):
            ids, blocks = features(view)
            windows, members, count = window_members(blocks)
            sizes = np.bincount(windows, minlength=count)
            rows.append(windows + done)
            cols.append(ids[members].astype(np.intp))
            vals.append(1.0 / np.sqrt(np.maximum(sizes[windows], 1)))
            owner.append(np.full(count, i, dtype=np.intp))
            done += count
            if k == 0:
                logn.append(math.log(count))
    return (
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        np.concatenate(owner),
        np.array(logn),
    )


def balanced(y: Floats) -> Floats:
    """Per-example weights giving both classes half the loss."""
    n, positives = len(y), max(float(y.sum()), 1.0)
    return np.where(y == 1, n / (2 * positives), n / (2 * max(n - positives, 1.0))) / n


class Adam:
    """Adam's update for one parameter array."""

    def __init__(self, size: int, lr: float) -> None:
        self.m, self.v, self.lr, self.step = np.zeros(size), np.zeros(size), lr, 0

    def delta(self, g: Floats) -> Floats:
        self.step += 1
        self.m = 0.9 * self.m + 0.1 * g
        self.v = 0.999 * self.v + 0.001 * g * g
        correction = math.sqrt(1 - 0.999**self.step) / (1 - 0.9**self.step)
        return self.lr * correction * self.m / (np.sqrt(self.v) + 1e-8)


def fit(
    texts: list[str], labels: list[int], args: argparse.Namespace
) -> tuple[Floats, float, float]:
    """Class-balanced logistic loss on each text's highest window less length * log(windows),
    + L2, minimised by full-batch Adam from zero. A tie for the highest goes to the first
    window. The length term is kept >= 0: more windows never raise a score."""
    rows, cols, vals, owner, logn = design(texts)
    y = np.array(labels, dtype=np.float64)
    size, windows = 1 << BITS, len(owner)
    firsts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    weight = balanced(y)
    w, b, length = np.zeros(size), 0.0, 0.0
    adam_w, adam_s = Adam(size, args.lr), Adam(2, args.lr)
    for _ in range(args.iterations):
        zw = np.bincount(rows, weights=w[cols] * vals, minlength=windows) + b
        top_z = np.maximum.reduceat(zw, firsts)
        top = np.flatnonzero(zw == top_z[owner])
        top = top[np.unique(owner[top], return_index=True)[1]]
        g = weight * (1.0 / (1.0 + np.exp(-(top_z - length * logn))) - y)
        gz = np.zeros(windows)
        gz[top] = g
        gw = np.bincount(cols, weights=gz[rows] * vals, minlength=size) + args.l2 * w
        w -= adam_w.delta(gw)
        step = adam_s.delta(np.array([g.sum(), -(g * logn).sum()]))
        b -= float(step[0])
        length = max(0.0, length - float(step[1]))
    return w, b, length


def length_slope(model: InjectionModel, records: list[dict[str, Any]]) -> float:
    """How much a benign text's highest window logit rises per log(windows), by least squares
    over the ordinary benign training texts (not the hard negatives, whose long write-ups
    quote attacks on purpose) and over runs of 2 to 32 of them joined: the maximum of more
    windows of innocent prose is higher by chance, and joining isolates that rise from
    whatever else long and short texts differ in. The length term that takes it away (>= 0)."""
    texts = [r["text"] for r in records if r["label"] == 0 and r["kind"] == "benign"]
    for size in (2, 4, 8, 16, 32):
        texts += [
            "\n\n".join(texts[i : i + size]) for i in range(0, min(len(texts), 40 * size), size)
        ]
    logn = np.array([math.log(len(model.window_logits(views(t)[0]))) for t in texts])
    top = np.array([model.logit(views(t)) for t in texts]) + model.length * logn
    centred = logn - logn.mean()
    return max(0.0, float(centred @ (top - top.mean()) / max(float(centred @ centred), 1e-9)))


def fit_combiner(logits: Floats, hits: list[tuple[str, ...]], labels: list[int]) -> Combiner:
    """Class-balanced logistic regression of the label on [logit, family indicators, 1], by
    Newton's method (a few exact steps: deterministic), with a little L2 on the families so
    one that never fires on the split stays at 0."""
    names = [*FAMILIES, *CUES]
    x = np.zeros((len(logits), len(names) + 2))
    x[:, 0] = logits
    for i, found in enumerate(hits):
        for name in found:
            x[i, 1 + names.index(name)] = 1.0
    x[:, -1] = 1.0
    y = np.array(labels, dtype=np.float64)
    weight = balanced(y)
    ridge = np.full(x.shape[1], 1e-3)
    ridge[0] = ridge[-1] = 1e-6
    beta = np.zeros(x.shape[1])
    for _ in range(30):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (weight * (p - y)) + ridge * beta
        hess = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(ridge)
        beta -= np.linalg.solve(hess, grad)
    families = {name: float(beta[1 + k]) for k, name in enumerate(names)}
    return Combiner(float(beta[0]), float(beta[-1]), families)


def judge(model: InjectionModel, texts: list[str]) -> tuple[Floats, list[tuple[str, ...]]]:
    """Each text's classifier logit, and its rule families and about-injection cues, as the
    guard computes them."""
    signs = [rule_hits(t) + about_cues(collapse(fold(t))) for t in texts]
    return np.array([model.logit(views(t)) for t in texts]), signs


def metrics(predicted: list[bool], labels: list[int]) -> dict[str, float]:
    tp = sum(p and y == 1 for p, y in zip(predicted, labels, strict=True))
    fp = sum(p and y == 0 for p, y in zip(predicted, labels, strict=True))
    fn = sum(not p and y == 1 for p, y in zip(predicted, labels, strict=True))
    negatives = sum(y == 0 for y in labels)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    fpr = fp / negatives if negatives else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fpr, "tp": tp, "fp": fp}


def report(model: InjectionModel, records: list[dict[str, Any]], title: str) -> None:
    labels = [r["label"] for r in records]
    logits, hits = judge(model, [r["text"] for r in records])
    judges = {
        "rules": [
            model.combiner.score(-30.0, found) if set(found) & set(FAMILIES) else 0.0
            for found in hits
        ],
        "classifier": [sigmoid(z) for z in logits],
        "combined": [model.combiner.score(z, found) for z, found in zip(logits, hits, strict=True)],
    }
    positives = sum(labels)
    print(f"\n{title}: {positives} injections, {len(labels) - positives} benign")
    print(f"{'judge @':<16}{'precision':>10}{'recall':>8}{'F1':>7}{'FPR':>7}")
    for name, scores in judges.items():
        for threshold in (DEFAULT_THRESHOLD, *SWEEP[1:]) if name == "combined" else (0.5,):
            s = metrics([x >= threshold for x in scores], labels)
            print(f"{name + f' {threshold:.2f}':<16}{s['precision']:>10.3f}{s['recall']:>8.3f}"
                  f"{s['f1']:>7.3f}{s['fpr']:>7.3f}")  # fmt: skip


GROUPS = {  # language -> reporting group, as scripts/injection_eval.py groups them
    **dict.fromkeys(["de", "fr", "es", "it", "pt", "nl"], "EU west"),
    **dict.fromkeys(["el", "bg"], "el/bg"),
    **dict.fromkeys(["tr"], "tr"),
    **dict.fromkeys(["hi", "zh", "ja", "ar", "fa"], "hi/zh/ja/ar/fa"),
}


def slices(records: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The development report's slices: by kind, by language group, hard negatives."""
    out: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        group = "en" if r["lang"] == "en" else GROUPS.get(r["lang"], "EU other")
        keys = [f"kind {r['kind']}", f"lang {group}"]
        if r["label"] == 0 and r["kind"] == "hard_negative":
            keys.append("hard negatives")
        for key in keys:
            out.setdefault(key, []).append(i)
    return dict(sorted(out.items()))


def slice_report(
    model: InjectionModel, records: list[dict[str, Any]], thresholds: tuple[float, ...]
) -> None:
    """Recall (injections) and false-positive rate (benign) per slice at each threshold."""
    logits, hits = judge(model, [r["text"] for r in records])
    scores = [model.combiner.score(z, f) for z, f in zip(logits, hits, strict=True)]
    print(f"{'slice':<26}{'n':>6}" + "".join(f"{'R/FPR @' + str(t):>16}" for t in thresholds))
    for name, rows in slices(records).items():
        pos = [i for i in rows if records[i]["label"] == 1]
        neg = [i for i in rows if records[i]["label"] == 0]
        cells = []
        for t in thresholds:
            r = sum(scores[i] >= t for i in pos) / len(pos) if pos else float("nan")
            f = sum(scores[i] >= t for i in neg) / len(neg) if neg else float("nan")
            cells.append(f"{r:>8.2f}/{f:<7.3f}")
        print(f"{name:<26}{len(rows):>6}" + "".join(cells))


#: The false-positive rates the shipped threshold must keep on the held-out split (all benign,
#: hard negatives): the goals (5%, 10%) less a margin, since new text is harder than new
#: phrasings of the corpus's own families.
FPR_CAPS = (0.04, 0.08)


def choose_threshold(model: InjectionModel, records: list[dict[str, Any]]) -> float:
    """The lowest threshold on a 0.05 grid whose false-positive rates on ``records`` (all
    benign, hard negatives) stay within FPR_CAPS: the most recall those caps allow."""
    logits, hits = judge(model, [r["text"] for r in records])
    scores = np.array([model.combiner.score(z, f) for z, f in zip(logits, hits, strict=True)])
    benign = np.array([r["label"] == 0 for r in records])
    hard = np.array([r["kind"] == "hard_negative" for r in records])
    for step in range(6, 20):
        t = step / 20
        if (scores[benign] >= t).mean() <= FPR_CAPS[0] and (scores[hard] >= t).mean() <= FPR_CAPS[
            1
        ]:
            return t
    return 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N only")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--l2", type=float, default=1e-5)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    records = load(args.corpus)
    train = [r for r in records if r["split"] == "train"]
    calibration = [r for r in records if r["split"] == "validation"]
    if args.limit:
        train, calibration = train[: args.limit], calibration[: args.limit]
    w, b, length = fit([r["text"] for r in train], [r["label"] for r in train], args)
    length = max(length, length_slope(InjectionModel(w.astype(np.float32), b, {}, length), train))
    bare = InjectionModel(w.astype(np.float32), b, {}, length)
    logits, hits = judge(bare, [r["text"] for r in calibration])
    combiner = fit_combiner(logits, hits, [r["label"] for r in calibration])
    training = {
        "corpus_sha256": hashlib.sha256(args.corpus.read_bytes()).hexdigest(),
        "examples": len(train),
        "calibration_examples": len(calibration),
        "iterations": args.iterations,
        "l2": args.l2,
        "lr": args.lr,
        "script": "scripts/train_injection.py",
    }
    text = dump_model(w, b, training, length, combiner)
    args.out.write_text(text)
    print(f"{len(train)} examples, {len(calibration)} for the combiner -> {args.out} "
          f"({len(text.encode()) // 1024} KiB); length term {length:.3f}")  # fmt: skip
    if not args.no_report:
        model, heldout = (
            InjectionModel.from_json(text),
            [r for r in records if r["split"] == "heldout"],
        )
        report(model, heldout, "held-out split")
        chosen = choose_threshold(model, heldout)
        slice_report(model, heldout, tuple(sorted({DEFAULT_THRESHOLD, chosen, *SWEEP})))
        print(f"\nlowest threshold within FPR caps {FPR_CAPS} on the held-out split: {chosen:.2f}")


if __name__ == "__main__":
    main()
