"""``keel report usage`` on a known ledger, checked against totals worked out by hand."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from keel.store import open_store
from tests.e2e.procs import keel_cli
from tests.store.conftest import make_row

NOW = time.time()
HOUR = 3600.0
LAST_YEAR = datetime(2025, 6, 1, tzinfo=UTC).timestamp()

# (team, model, deployment, region, status, prompt, completion, cost, latency ms, age s)
LEDGER: list[tuple[Any, ...]] = [
    ("alpha", "chat", "sim-eu", "eu", 200, 100, 50, 0.010, 100.0, 1 * HOUR),
    ("alpha", "chat", "sim-us", "us", 200, 200, 80, 0.020, 300.0, 2 * HOUR),
    ("alpha", "embed", "minilm", "eu", 200, 30, 0, 0.000, 20.0, 3 * HOUR),
    ("alpha", "chat", "sim-eu", "eu", 502, 0, 0, 0.000, 500.0, 4 * HOUR),
    ("beta", "chat", "sim-us", "us", 200, 10, 5, 0.001, 60.0, 5 * HOUR),
    ("beta", "chat", "sim-us", "us", 429, 0, 0, 0.000, 2.0, 6 * HOUR),
    (None, "chat", None, None, 401, 0, 0, 0.000, 1.0, 7 * HOUR),
    ("beta", "chat", "sim-eu", "eu", 200, 40, 20, 0.004, 80.0, 3 * 86400),  # 3 days back
    ("alpha", "chat", "sim-eu", "eu", 200, 1000, 1000, 1.000, 900.0, NOW - LAST_YEAR),
]

COLUMNS = ("team", "model", "deployment", "region")


def rows() -> list[dict[str, Any]]:
    out = []
    for team, model, deployment, region, status, prompt, completion, cost, ms, age in LEDGER:
        out.append(
            make_row(
                ts=NOW - age, team=team, model=model, deployment=deployment, region=region,
                status=status, error=None if status < 400 else "some_error",
                prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost,
                latency_ms=ms, overhead_ms=1.0, key_id=None if team is None else f"key_{team}",
            )
        )  # fmt: skip
    return out


def expected(by: str, since_age: float) -> dict[str, dict[str, Any]]:
    """Totals per group, computed here from LEDGER (not by the code under test)."""
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for entry in LEDGER:
        if entry[9] <= since_age:
            groups.setdefault(entry[COLUMNS.index(by)] or "-", []).append(entry)
    return {
        key: {
            "requests": len(es),
            "errors": sum(1 for e in es if e[4] >= 400),
            "prompt_tokens": sum(e[5] for e in es),
            "completion_tokens": sum(e[6] for e in es),
            "cost_usd": sum(e[7] for e in es),
            "avg_latency_ms": sum(e[8] for e in es) / len(es),
        }
        for key, es in groups.items()
    }


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{tmp / 'ledger.db'}"

    async def fill() -> None:
        store = open_store(url)
        await store.start()
        try:
            await store.write_usage(rows())
        finally:
            await store.close()

    asyncio.run(fill())
    path = tmp / "keel.yaml"
    path.write_text(yaml.safe_dump({"store": {"url": url}}))
    yield path


def report(config: Path, *args: str, check: bool = True) -> Any:
    return keel_cli("report", "usage", *args, "--config", str(config), check=check)


def assert_totals(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    assert set(got) == set(want)
    for key, totals in want.items():
        for field, value in totals.items():
            assert float(got[key][field]) == pytest.approx(value), (key, field)


@pytest.mark.parametrize("by", COLUMNS)
def test_json_totals_by_each_column(config: Path, by: str) -> None:
    data = orjson.loads(report(config, "--since", "24h", "--by", by, "--format", "json").stdout)
    assert isinstance(data, list)
    got = {row[by]: row for row in data}
    assert len(got) == len(data), "one row per group"
    assert_totals(got, expected(by, 24 * HOUR))
    for row in data:
        assert isinstance(row["requests"], int) and isinstance(row["prompt_tokens"], int)


def test_json_by_team_by_hand(config: Path) -> None:
    """The same numbers spelled out, so a mistake in ``expected`` cannot hide one in keel."""
    data = orjson.loads(report(config, "--since", "24h", "--format", "json").stdout)
    got = {row["team"]: row for row in data}
    alpha = got["alpha"]
    assert (alpha["requests"], alpha["errors"]) == (4, 1)
    assert (alpha["prompt_tokens"], alpha["completion_tokens"]) == (330, 130)
    assert alpha["cost_usd"] == pytest.approx(0.030)
    assert alpha["avg_latency_ms"] == pytest.approx(230.0)
    beta = got["beta"]
    assert (beta["requests"], beta["errors"], beta["prompt_tokens"]) == (2, 1, 10)
    assert beta["avg_latency_ms"] == pytest.approx(31.0)
    assert (got["-"]["requests"], got["-"]["errors"]) == (1, 1)  # no key, no team


@pytest.mark.parametrize(
    ("since", "age"),
    [("7d", 7 * 86400), ("30d", 30 * 86400), ("150m", 2.5 * HOUR), ("2026-01-01", None)],
)
def test_since(config: Path, since: str, age: float | None) -> None:
    if age is None:  # a date: everything after it, so all but last year's row
        age = NOW - datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    data = orjson.loads(report(config, "--since", since, "--format", "json").stdout)
    assert_totals({row["team"]: row for row in data}, expected("team", age))


def test_csv_totals(config: Path) -> None:
    out = report(config, "--since", "7d", "--by", "deployment", "--format", "csv").stdout
    reader = csv.DictReader(io.StringIO(out))
    assert reader.fieldnames is not None and reader.fieldnames[0] == "deployment"
    assert {"requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd",
            "avg_latency_ms"} <= set(reader.fieldnames)  # fmt: skip
    got = {row["deployment"]: row for row in reader}
    assert_totals(got, expected("deployment", 7 * 86400))


def test_table(config: Path) -> None:
    out = report(config, "--since", "24h", "--by", "model").stdout
    lines = out.splitlines()
    assert "model" in lines[0] and "requests" in lines[0]
    chat = next(line.split() for line in lines if line.startswith("chat"))
    assert chat[1:5] == ["6", "3", "310", "135"]


def test_an_empty_period(config: Path) -> None:
    assert orjson.loads(report(config, "--since", "1s", "--format", "json").stdout) == []
    assert "no usage" in report(config, "--since", "1s").stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--by", "user"), ["--by", "user", "team"]),
        (("--format", "xml"), ["--format", "xml", "csv"]),
        (("--since", "yesterday"), ["yesterday", "7d"]),
        (("--since", "7y"), ["7y"]),
    ],
)
def test_bad_options_are_refused(config: Path, args: tuple[str, ...], words: list[str]) -> None:
    result = report(config, *args, check=False)
    assert result.returncode == 2, result
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr, (word, result.stderr)
