"""The fast CSV reader gives exactly what ``csv`` and ``float()`` give."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from keel.monitor.drift.csvfile import read_columns


def _expected(path: Path) -> dict[str, list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return {name: [row[j] for row in rows[1:]] for j, name in enumerate(rows[0])}


def test_numbers_parse_as_float_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1e3, 300), rng.normal(0, 1e-3, 100), [0.0, -0.0]])
    texts = [f"{v:.{d}f}" for v, d in zip(values, rng.integers(0, 12, values.size), strict=True)]
    texts += ["1e5", "", "-2.5E-3", "+3", "12345678901234567", ".5", "-.25", "7.", "nan"]
    path = tmp_path / "n.csv"
    path.write_text("x\n" + "\n".join(texts) + "\n")
    got = read_columns(path)["x"]
    want = [float(t) if t else math.nan for t in texts]
    assert got.dtype == np.float64
    assert np.array_equal(got, np.asarray(want), equal_nan=True)


def test_text_columns_come_back_as_bytes_and_named_ones_always(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,x,\n2,,3\r\n3,zz,4\n")
    columns = read_columns(path, frozenset({"a"}))
    assert columns["a"].tolist() == [b"1", b"2", b"3"]
    assert columns["b"].tolist() == [b"x", b"", b"zz"]
    assert np.array_equal(columns["c"], [math.nan, 3.0, 4.0], equal_nan=True)


def test_quoted_fields_go_through_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('a,b\n1,"x,y"\n2,"line\nbreak"\n')
    columns = read_columns(path)
    assert columns["a"].tolist() == [1.0, 2.0]
    assert list(columns["b"]) == ["x,y", "line\nbreak"]


def test_a_ragged_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3: 1 fields, the header has 2"):
        read_columns(path)


def test_a_wide_mixed_file_matches_the_csv_module(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 500
    header = ["num", "ints", "cat"]
    rows = zip(
        (f"{v:.4f}" for v in rng.normal(size=n)),
        (str(v) for v in rng.poisson(3, n)),
        (str(v) for v in rng.choice(["a", "bb", "c c"], n)),
        strict=True,
    )
    path = tmp_path / "w.csv"
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    got = read_columns(path)
    want = _expected(path)
    assert got["num"].tolist() == [float(v) for v in want["num"]]
    assert got["ints"].tolist() == [float(v) for v in want["ints"]]
    assert [v.decode() for v in got["cat"].tolist()] == want["cat"]
