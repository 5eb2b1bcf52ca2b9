"""The corpus and the training script: reproducible, and the held-out numbers docs/guards.md cites.

The floors below are what the shipped corpus and weights measured on the held-out split at
the shipped threshold (scripts/train_injection.py prints the same table), minus 0.02. The
classifier trains on the train split, the combiner on the validation split.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from keel.guard.injection import DEFAULT_THRESHOLD, assess
from keel.guard.injection.model import MODEL_PATH, InjectionModel, default_model

ROOT = Path(__file__).parents[2]
CORPUS = ROOT / "tests" / "guard" / "data" / "injection_corpus.jsonl"
MARGIN = 0.02
MEASURED = {  # judge: (precision, recall) on the held-out split
    "classifier": (0.928, 0.705),
    "combined": (0.949, 0.710),
}


def records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def run(script: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, f"scripts/{script}", *args], cwd=ROOT, check=True, capture_output=True
    )


def test_the_corpus_script_writes_the_committed_corpus_byte_for_byte(tmp_path: Path) -> None:
    run("injection_corpus.py", "--out", str(tmp_path / "corpus.jsonl"))
    assert (tmp_path / "corpus.jsonl").read_bytes() == CORPUS.read_bytes()


def test_the_corpus_is_large_labelled_split_and_varied() -> None:
    rows = records()
    assert len(rows) >= 2000
    splits = collections.Counter(r["split"] for r in rows)
    assert set(splits) == {"train", "validation", "heldout"} and splits["heldout"] >= 500
    for split in splits:
        assert {r["label"] for r in rows if r["split"] == split} == {0, 1}
    langs = {r["lang"] for r in rows if r["label"] == 1}
    assert {"en", "de", "fr", "es", "it", "pt", "pl", "tr", "hi", "zh", "ja", "ar", "fa"} <= langs
    assert len(langs) >= 30
    assert {r["role"] for r in rows if r["label"] == 1} == {"user", "tool"}
    assert {"direct", "indirect", "obfuscated", "encoded"} <= {r["kind"] for r in rows}
    assert "hard_negative" in {r["kind"] for r in rows}
    assert len({r["text"] for r in rows}) == len(rows)


def test_held_out_examples_share_no_template_with_training_ones() -> None:
    rows = records()
    held = {r["template"] for r in rows if r["split"] == "heldout"}
    seen = {r["template"] for r in rows if r["split"] != "heldout"}
    assert not held & seen


def test_the_shipped_weights_were_trained_on_the_committed_corpus() -> None:
    meta = default_model().meta
    assert meta["corpus_sha256"] == hashlib.sha256(CORPUS.read_bytes()).hexdigest()
    assert meta["examples"] == sum(r["split"] == "train" for r in records())
    assert meta["calibration_examples"] == sum(r["split"] == "validation" for r in records())


def test_training_is_deterministic(tmp_path: Path) -> None:
    outputs = []
    for name in ("a.json", "b.json"):
        out = tmp_path / name
        run(
            "train_injection.py",
            "--limit",
            "150",
            "--iterations",
            "15",
            "--no-report",
            "--out",
            str(out),
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert InjectionModel.load(tmp_path / "a.json").meta["examples"] == 150
    assert outputs[0] != MODEL_PATH.read_bytes()


@functools.cache
def held_out_scores() -> tuple[list[int], dict[str, list[float]]]:
    rows = [r for r in records() if r["split"] == "heldout"]
    found = [assess(r["text"]) for r in rows]
    judges = {"classifier": [a.probability for a in found], "combined": [a.score for a in found]}
    return [r["label"] for r in rows], judges


@pytest.mark.parametrize("judge", list(MEASURED))
def test_held_out_precision_and_recall_are_at_least_what_the_docs_report(judge: str) -> None:
    labels, judges = held_out_scores()
    flagged = [s >= DEFAULT_THRESHOLD for s in judges[judge]]
    tp = sum(f and y == 1 for f, y in zip(flagged, labels, strict=True))
    precision = tp / sum(flagged)
    recall = tp / sum(labels)
    floor_precision, floor_recall = MEASURED[judge]
    assert precision >= floor_precision - MARGIN
    assert recall >= floor_recall - MARGIN
