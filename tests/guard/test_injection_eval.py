"""The independent evaluation set: reproducible, apart from the training corpus, and the
floors docs/guards.md reports (scripts/injection_eval.py prints the full table)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from keel.guard.injection import DEFAULT_THRESHOLD, screen

ROOT = Path(__file__).parents[2]
EVAL = ROOT / "tests" / "guard" / "data" / "injection_eval.jsonl"
CORPUS = ROOT / "tests" / "guard" / "data" / "injection_corpus.jsonl"
MARGIN = 0.02
# Measured on the shipped weights at DEFAULT_THRESHOLD: F1 overall, recall direct/indirect.
MEASURED = {"f1": 0.81, "direct": 0.69, "indirect": 0.68}


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]


def test_the_eval_script_writes_the_committed_set(tmp_path: Path) -> None:
    before = EVAL.read_bytes()
    subprocess.run([sys.executable, "scripts/injection_eval.py", "--write"], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    assert EVAL.read_bytes() == before


def test_no_eval_sentence_is_in_the_training_corpus() -> None:
    corpus = CORPUS.read_text(encoding="utf-8")
    toml = (ROOT / "scripts" / "injection_eval.toml").read_text(encoding="utf-8")
    sentences = [line.strip().strip('",') for line in toml.splitlines() if line.startswith('  "')]
    assert len(sentences) > 100
    assert not [s for s in sentences if len(s) > 30 and json.dumps(s)[1:-1] in corpus]


def test_the_set_is_grouped_and_covers_languages_kinds_and_disguises() -> None:
    found = rows()
    assert len({r["group"] for r in found}) >= 100
    assert len({r["lang"] for r in found if r["label"] == 1}) >= 30
    assert {"direct", "indirect", "hard_negative", "long_benign", "benign"} == {
        r["kind"] for r in found
    }
    assert len({r.get("obfuscation") for r in found}) >= 12


def test_eval_numbers_are_at_least_what_the_docs_report() -> None:
    found = rows()
    flags = []
    for r in found:
        messages = r.get("messages") or [{"role": r["role"], "content": r["text"]}]
        flags.append(screen(messages).score >= DEFAULT_THRESHOLD)

    def recall(kind: str) -> float:
        picked = [f for f, r in zip(flags, found, strict=True) if r["kind"] == kind]
        return sum(picked) / len(picked)

    tp = sum(f and r["label"] for f, r in zip(flags, found, strict=True))
    precision = tp / sum(flags)
    overall = tp / sum(r["label"] for r in found)
    f1 = 2 * precision * overall / (precision + overall)
    assert f1 >= MEASURED["f1"] - MARGIN
    assert recall("direct") >= MEASURED["direct"] - MARGIN
    assert recall("indirect") >= MEASURED["indirect"] - MARGIN
