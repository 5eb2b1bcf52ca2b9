"""``keel report alerts`` as a real command over alerts recorded in either store."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import orjson
import pytest
import yaml

from keel.store import opened_store
from keel.store.alerts import AlertRecord
from tests.e2e.procs import keel_cli
from tests.monitor.test_alert_store import record

NOW = time.time()
DAY = 86400.0
RECORDS = [
    record(ts=NOW - 10 * DAY, subject="old"),
    record(
        ts=NOW - 2 * DAY,
        subject="alpha",
        status="failed",
        delivered=0,
        failed=1,
        last_error="webhook 1 (hooks.example): HTTP 410",
    ),
    record(
        ts=NOW - 60,
        kind="rate_limit",
        name="per-key",
        subject="key_1",
        threshold=90.0,
        used=270.0,
        limit=300.0,
        message="key key_1 used 270 of its 300 requests a minute",
    ),
]


@pytest.fixture
def config(store_url: str, tmp_path: Path) -> Path:
    async def fill() -> None:
        async with opened_store(store_url) as store:
            for r in RECORDS:
                await store.add_alert(r)

    asyncio.run(fill())
    path = tmp_path / "keel.yaml"
    path.write_text(yaml.safe_dump({"store": {"url": store_url}}))
    return path


def report(config: Path, *args: str, check: bool = True) -> str:
    return keel_cli("report", "alerts", *args, "--config", str(config), check=check).stdout


def test_json_lists_the_period_oldest_first(config: Path) -> None:
    rows = orjson.loads(report(config, "--format", "json"))  # default: 7 days
    assert [r["subject"] for r in rows] == ["alpha", "key_1"]
    got = [AlertRecord(**{k: v for k, v in r.items() if not k.endswith("_iso")}) for r in rows]
    assert [dataclasses.replace(g, seq=0) for g in got] == RECORDS[1:]
    assert rows[0]["period_start_iso"] == "1970-01-01T00:15:00+00:00"
    everything = orjson.loads(report(config, "--since", "30d", "--format", "json"))
    assert [r["subject"] for r in everything] == ["old", "alpha", "key_1"]


def test_the_table(config: Path) -> None:
    lines = report(config, "--since", "3d").splitlines()
    assert lines[0].split()[:4] == ["time", "(UTC)", "kind", "name"]
    alpha, key = lines[1], lines[2]
    assert "budget" in alpha and "$40.00" in alpha and "failed" in alpha and "0/1" in alpha
    assert "HTTP 410" in alpha
    assert "rate_limit" in key and " 270 " in key and " 300 " in key and "delivered" in key


def test_an_empty_period(config: Path) -> None:
    assert report(config, "--since", "1s").strip() == "no alerts in that period"
    assert orjson.loads(report(config, "--since", "1s", "--format", "json")) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [(("--format", "csv"), ["--format", "csv", "json"]), (("--since", "soon"), ["soon", "7d"])],
)
def test_bad_options_are_refused(config: Path, args: tuple[str, ...], words: list[str]) -> None:
    result = keel_cli("report", "alerts", *args, "--config", str(config), check=False)
    assert result.returncode == 2 and result.stdout == ""
    for word in words:
        assert word in result.stderr
