"""Train the prompt-injection classifier: python scripts/train_injection.py [--validate]

Fits L2-regularised logistic regression on the corpus's train split (keel's own features
and windows, keel.guard.injection.model) by full-batch Adam for a fixed number of steps, and
writes keel/guard/injection/data/model.json. Nothing is random (full batch, zero start, fixed
step count, numpy's sequential bincount sums), so a re-run writes the same bytes.

It trains on the train and validation splits, then prints precision, recall and F1 on the
held-out split at the shipped threshold for the rules alone, the classifier alone (as
shipped: int16 weights read back from the weights file's text) and the two combined.
--validate trains on the train split only and reports on the validation split, writing
nothing: that is how hyperparameters are chosen without looking at the held-out split.
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
from keel.guard.injection.model import (
    BITS,
    MODEL_PATH,
    InjectionModel,
    dump_model,
    features,
    window_members,
)
from keel.guard.injection.rules import rule_hits, rule_score
from keel.guard.injection.text import normalise

CORPUS = Path(__file__).parents[1] / "tests" / "guard" / "data" / "injection_corpus.jsonl"
SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95)  # thresholds a data class might choose, for the report
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]


def load(corpus: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]


def design(texts: list[str]) -> tuple[Ints, Ints, Floats, Ints]:
    """The window-by-feature matrix as coordinates (window, bucket, 1/sqrt(window's feature
    count)), and each window's text."""
    rows, cols, vals, owner = [], [], [], []
    done = 0
    for i, text in enumerate(texts):
        ids, blocks = features(normalise(text))
        windows, members, count = window_members(blocks)
        sizes = np.bincount(windows, minlength=count)
        rows.append(windows + done)
        cols.append(ids[members].astype(np.intp))
        vals.append(1.0 / np.sqrt(np.maximum(sizes[windows], 1)))
        owner.append(np.full(count, i, dtype=np.intp))
        done += count
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.concatenate(owner)


def fit(texts: list[str], labels: list[int], args: argparse.Namespace) -> tuple[Floats, float]:
    """Class-balanced logistic loss on each text's highest window, + L2, minimised by
    full-batch Adam from zero. A tie for the highest goes to the first window."""
    rows, cols, vals, owner = design(texts)
    y = np.array(labels, dtype=np.float64)
    n, size, windows = len(y), 1 << BITS, len(owner)
    firsts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    positives = max(y.sum(), 1.0)
    weight = np.where(y == 1, n / (2 * positives), n / (2 * max(n - positives, 1.0))) / n
    w, b = np.zeros(size), 0.0
    m, v, mb, vb = np.zeros(size), np.zeros(size), 0.0, 0.0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, args.iterations + 1):
        zw = np.bincount(rows, weights=w[cols] * vals, minlength=windows) + b
        z = np.maximum.reduceat(zw, firsts)
        top = np.flatnonzero(zw == z[owner])
        top = top[np.unique(owner[top], return_index=True)[1]]
        g = weight * (1.0 / (1.0 + np.exp(-z)) - y)
        gz = np.zeros(windows)
        gz[top] = g
        gw = np.bincount(cols, weights=gz[rows] * vals, minlength=size) + args.l2 * w
        gb = float(g.sum())
        m = beta1 * m + (1 - beta1) * gw
        v = beta2 * v + (1 - beta2) * gw * gw
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb * gb
        correction = math.sqrt(1 - beta2**step) / (1 - beta1**step)
        w -= args.lr * correction * m / (np.sqrt(v) + eps)
        b -= args.lr * correction * mb / (math.sqrt(vb) + eps)
    return w, b


def metrics(predicted: list[bool], labels: list[int]) -> dict[str, float]:
    tp = sum(p and y == 1 for p, y in zip(predicted, labels, strict=True))
    fp = sum(p and y == 0 for p, y in zip(predicted, labels, strict=True))
    fn = sum(not p and y == 1 for p, y in zip(predicted, labels, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def report(model: InjectionModel, records: list[dict[str, Any]], title: str) -> None:
    labels = [r["label"] for r in records]
    rules = [rule_score(rule_hits(r["text"])) for r in records]
    probs = [model.probability(normalise(r["text"])) for r in records]
    judges = {
        "rules": rules,
        "classifier": probs,
        "combined": [max(a, b) for a, b in zip(rules, probs, strict=True)],
    }
    positives = sum(labels)
    print(f"\n{title}: {positives} injections, {len(labels) - positives} benign, "
          f"threshold {DEFAULT_THRESHOLD:.2f}")  # fmt: skip
    print(f"{'judge':<12}{'precision':>10}{'recall':>8}{'F1':>7}{'TP':>6}{'FP':>5}{'FN':>5}")
    for name, scores in judges.items():
        s = metrics([x >= DEFAULT_THRESHOLD for x in scores], labels)
        print(f"{name:<12}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>7.3f}"
              f"{s['tp']:>6}{s['fp']:>5}{s['fn']:>5}")  # fmt: skip
    print(
        f"\n{'combined at':<12}{'precision':>10}{'recall':>8}{'F1':>7}{'TP':>6}{'FP':>5}{'FN':>5}"
    )
    for threshold in SWEEP:
        s = metrics([x >= threshold for x in judges["combined"]], labels)
        print(f"{threshold:<12.2f}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>7.3f}"
              f"{s['tp']:>6}{s['fp']:>5}{s['fn']:>5}")  # fmt: skip
    print(f"\n{'kind / family':<30}{'n':>5}{'rules':>7}{'classifier':>11}{'combined':>9}")
    for kind, family in sorted({(r["kind"], r["family"]) for r in records}):
        picked = [i for i, r in enumerate(records) if (r["kind"], r["family"]) == (kind, family)]
        hits = [sum(judges[j][i] >= DEFAULT_THRESHOLD for i in picked) for j in judges]
        print(f"{kind + ' / ' + family:<30}{len(picked):>5}{hits[0]:>7}{hits[1]:>11}{hits[2]:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N only")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--l2", type=float, default=1e-5)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    records = load(args.corpus)
    fitted = ("train",) if args.validate else ("train", "validation")
    train = [r for r in records if r["split"] in fitted]
    test = [r for r in records if r["split"] == ("validation" if args.validate else "heldout")]
    if args.limit:
        train = train[: args.limit]
    w, b = fit([r["text"] for r in train], [r["label"] for r in train], args)
    training = {
        "corpus_sha256": hashlib.sha256(args.corpus.read_bytes()).hexdigest(),
        "examples": len(train),
        "iterations": args.iterations,
        "l2": args.l2,
        "lr": args.lr,
        "script": "scripts/train_injection.py",
    }
    text = dump_model(w, b, training)
    if not args.validate:
        args.out.write_text(text)
        print(f"{len(train)} examples -> {args.out} ({len(text.encode()) // 1024} KiB)")
    if not args.no_report:
        title = "validation split" if args.validate else "held-out split"
        report(InjectionModel.from_json(text), test, title)


if __name__ == "__main__":
    main()
