"""Precision and recall of the detector on a labelled corpus (scripts/pii_corpus.py makes one).

Span-level: a prediction counts only if its kind and its exact span match a label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keel.guard.pii.detectors import detect
from keel.guard.pii.entities import NER_KINDS, Kind
from keel.table import render_table

__all__ = ["Score", "evaluate", "load_corpus", "score_table"]

ALL = "ALL"


@dataclass(slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)  # a few examples of each error, to read
    false_alarms: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_corpus(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(records: Iterable[Mapping[str, Any]], keep: int = 5) -> dict[str, Score]:
    """Scores per kind and overall (``"ALL"``); ``keep`` examples of each error per kind."""
    scores: dict[str, Score] = {k.value: Score() for k in Kind if k not in NER_KINDS}
    scores[ALL] = Score()
    for r in records:
        text = r["text"]
        want = {(e["kind"], e["start"], e["end"]) for e in r["entities"]}
        got = {(e.kind.value, e.start, e.end) for e in detect(text)}
        for kind, start, end in want | got:
            s = scores[kind]
            hit = (kind, start, end)
            if hit in want and hit in got:
                s.tp += 1
            elif hit in want:
                s.fn += 1
                _keep(s.misses, text, start, end, keep)
            else:
                s.fp += 1
                _keep(s.false_alarms, text, start, end, keep)
    total = scores[ALL]
    for kind, s in scores.items():
        if kind != ALL:
            total.tp, total.fp, total.fn = total.tp + s.tp, total.fp + s.fp, total.fn + s.fn
    return scores


def _keep(examples: list[str], text: str, start: int, end: int, keep: int) -> None:
    if len(examples) < keep:
        examples.append(
            f"{text[max(0, start - 30) : start]}[[{text[start:end]}]]{text[end : end + 15]}"
        )


def score_table(scores: Mapping[str, Score]) -> str:
    rows = [["kind", "labels", "found", "tp", "fp", "fn", "precision", "recall"]]
    for kind, s in scores.items():
        counts = [str(n) for n in (s.tp + s.fn, s.tp + s.fp, s.tp, s.fp, s.fn)]
        rows.append([kind, *counts, f"{s.precision:.3f}", f"{s.recall:.3f}"])
    return render_table(rows, numeric_from=1)
