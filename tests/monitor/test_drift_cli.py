"""``keel drift detect`` as a user runs it: one shot, and ``--serve`` over stdin/stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

TIMEOUT = 120  # a loaded 2-core machine starts Python slowly


def _write(path: Path, n: int, seed: int, shift: float = 0.0) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    k = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    counts = rng.poisson(2, n)
    lines = [f"{a:.5f},{b},{c}" for a, b, c in zip(x, k, counts, strict=True)]
    path.write_text("x,k,count\n" + "\n".join(lines) + "\n")
    return path


def _keel(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keel", "drift", "detect", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_one_shot_prints_one_json_object(tmp_path: Path) -> None:
    reference = _write(tmp_path / "ref.csv", 2000, 1)
    current = _write(tmp_path / "cur.csv", 1000, 2, shift=0.5)
    result = _keel("--reference", str(reference), "--current", str(current))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert result.stdout.count("\n") == 1
    assert set(body) == {"columns", "dataset_drift"} and body["dataset_drift"] is True
    assert set(body["columns"]) == {"x", "k", "count"}
    for column in body["columns"].values():
        assert set(column) == {"drift", "score", "method"}
        assert isinstance(column["score"], float)
    assert body["columns"]["x"]["drift"] and body["columns"]["x"]["method"] == "numeric"
    assert body["columns"]["count"]["method"] == "numeric"
    assert body["columns"]["k"]["method"] == "categorical"


def test_serve_answers_each_line_and_survives_a_bad_one(tmp_path: Path) -> None:
    reference = _write(tmp_path / "ref.csv", 2000, 1)
    same = _write(tmp_path / "same.csv", 1000, 3)
    moved = _write(tmp_path / "moved.csv", 1000, 4, shift=0.5)
    lines = [
        json.dumps({"reference": str(reference), "current": str(same)}),
        "not json",
        json.dumps({"reference": str(reference), "current": str(tmp_path / "nowhere.csv")}),
        json.dumps({"reference": str(reference), "current": str(moved)}),
    ]
    result = _keel("--serve", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 4
    assert answers[0]["dataset_drift"] is False
    assert "error" in answers[1] and "error" in answers[2]
    assert answers[3]["dataset_drift"] is True and answers[3]["columns"]["x"]["drift"]


def test_a_missing_column_and_empty_values_are_reported_not_fatal(tmp_path: Path) -> None:
    reference = _write(tmp_path / "ref.csv", 500, 1)
    current = tmp_path / "cur.csv"
    current.write_text("x,count\n" + "0.1,\n,3\n-0.2,1\n" * 50)
    result = _keel("--reference", str(reference), "--current", str(current), "--detail")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["columns"]["k"]["method"] == "absent" and body["columns"]["k"]["drift"]
    assert body["correction"] == "holm" and "parts" in body["columns"]["x"]


def test_a_missing_file_is_an_error_on_stderr(tmp_path: Path) -> None:
    result = _keel("--reference", str(tmp_path / "no.csv"), "--current", str(tmp_path / "no.csv"))
    assert result.returncode == 1 and "no.csv" in result.stderr and result.stdout == ""
