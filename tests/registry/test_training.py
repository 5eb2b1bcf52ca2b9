"""Training data: fingerprint, rows and per-feature reference statistics."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from keel.registry.training import training_stats


def test_csv_statistics_per_numeric_feature(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("age,income,city\n30,1000,Oslo\n40,,Bergen\n50,3000,Oslo\n20,2000,x\n")
    stats = training_stats(path)
    assert stats["fingerprint"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (stats["rows"], stats["file"], stats["non_numeric"]) == (4, "train.csv", ["city"])
    age = stats["features"]["age"]
    assert (age["count"], age["mean"], age["min"], age["max"]) == (4, 35.0, 20.0, 50.0)
    assert age["std"] == pytest.approx(np.std([30, 40, 50, 20]))
    assert len(age["quantiles"]) == 10
    assert age["quantiles"][0] == 20.0 and age["quantiles"][-1] == 50.0
    assert age["quantiles"] == sorted(age["quantiles"])
    assert stats["features"]["income"]["count"] == 3  # the empty value is not counted


def test_the_bundled_training_file(models_dir: Path) -> None:
    stats = training_stats(models_dir / "train.csv")
    assert stats["rows"] == 569 and stats["non_numeric"] == ["label"]
    assert set(stats["features"]) == {"mean radius", "mean texture", "mean perimeter"}


def test_a_ragged_csv_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3: 1 fields, the header has 2"):
        training_stats(tmp_path / "t.csv")


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow installed")
def test_parquet_without_pyarrow_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValueError, match=r"needs pyarrow.*or give the data as CSV"):
        training_stats(tmp_path / "t.parquet")


def test_the_drift_reference_is_kept_with_the_statistics(tmp_path: Path) -> None:
    from keel.monitor.drift import Reference, detect

    rng = np.random.default_rng(0)
    path = tmp_path / "train.csv"
    rows = [
        f"{v:.3f},{c}"
        for v, c in zip(rng.normal(size=800), rng.choice(["a", "b"], 800), strict=True)
    ]
    path.write_text("x,k\n" + "\n".join(rows) + "\n")
    stats = training_stats(path)
    reference = Reference.from_stored(stats)
    assert set(reference.columns) == {"x", "k"}
    shifted = {"x": rng.normal(1.0, 1.0, 300), "k": rng.choice(["a", "b"], 300).tolist()}
    report = detect(reference, shifted)
    assert report.columns["x"].drift and not report.columns["k"].drift
