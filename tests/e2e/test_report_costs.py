"""``keel report costs`` and ``keel report roi`` as a user runs them: the CLI on a SQLite
store holding the known ledger (tests/commands/report/ledger.py), in every format, and refusing bad
input with exit 2."""

from __future__ import annotations

import asyncio
import csv
import io

import orjson
import pytest
import yaml

from keel.store import opened_store
from tests.commands.report.ledger import config_dict, ledger
from tests.e2e.procs import keel_cli

BUDGET = {"name": "alpha-month", "scope": "team", "match": "alpha", "limit_usd": 10,
          "period": "month", "timezone": "Europe/Berlin"}  # fmt: skip

USE_CASES = {"support": {"value_per_success_usd": 0.5}}


@pytest.fixture(scope="module")
def keel_yaml(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("costs")
    url = f"sqlite:///{tmp / 'keel.db'}"

    async def fill() -> None:
        async with opened_store(url) as store:
            await store.write_usage(ledger())

    asyncio.run(fill())
    path = tmp / "keel.yaml"
    path.write_text(
        yaml.safe_dump(
            {**config_dict(budgets=[BUDGET], use_cases=USE_CASES), "store": {"url": url}}
        )
    )
    return str(path)


def costs(keel_yaml: str, *args: str) -> str:
    return keel_cli("report", "costs", "--period", "2026-11", "--tz", "Europe/Berlin", *args,
                    "--config", keel_yaml).stdout  # fmt: skip


def test_json_by_team_and_model(keel_yaml: str) -> None:
    data = orjson.loads(costs(keel_yaml, "--by", "team,model", "--format", "json"))
    assert [(g["team"], g["model"]) for g in data["groups"]] == [
        ("alpha", "chat"), ("beta", "chat"), ("gamma", "chat")]  # fmt: skip
    alpha = data["groups"][0]
    # 0.50 metered + 7.20 x 800 / 1200 of gpu's hours; $0.50 of the $10 budget.
    assert alpha["requests"] == 3 and alpha["cost_usd"] == pytest.approx(5.30)
    assert alpha["budgets"][0]["used_pct"] == pytest.approx(5.0)
    assert data["total"]["cost_usd"] == pytest.approx(11.75)  # 8.15 + gpu2's idle 3.60


def test_csv_and_table(keel_yaml: str) -> None:
    groups, self_hosted = costs(keel_yaml, "--by", "deployment", "--format", "csv").split("\n\n")
    table = {r["deployment"]: r for r in csv.DictReader(io.StringIO(groups))}
    assert set(table) == {"cloud", "gpu", "total"}
    assert table["gpu"]["self_hosted_usd"] == "7.2" and table["gpu"]["requests"] == "3"
    assert table["cloud"]["failed_tries"] == "2"
    assert "gpu2,0.005,720,3.6,0," in self_hosted
    text = costs(keel_yaml, "--by", "team")
    assert "costs 2026-11 (Europe/Berlin)" in text and "5.0% alpha-month" in text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--period", "Nov-2026"], "2026-W45 (an ISO week)"),
        (["--period", "2026-11", "--by", "team,user"], "--by takes a comma list"),
        (["--period", "2026-11", "--tz", "Berlin"], "IANA name"),
        (["--period", "2026-11", "--format", "xml"], "--format must be one of"),
    ],
)
def test_bad_input_exits_2_saying_what_to_do(keel_yaml: str, args: list[str], words: str) -> None:
    result = keel_cli("report", "costs", *args, "--config", keel_yaml, check=False)
    assert result.returncode == 2
    assert words in result.stderr


def test_roi_from_the_cli(keel_yaml: str) -> None:
    result = keel_cli("report", "roi", "--period", "2026-11", "--tz", "Europe/Berlin",
                      "--format", "json", "--config", keel_yaml)  # fmt: skip
    cv, support = orjson.loads(result.stdout)
    # support: 2 successes x 0.5; cost 0.50 + 7.20 x 400 / 1200 of gpu's hours.
    assert (support["value_usd"], support["cost_usd"]) == (1.0, pytest.approx(2.90))
    assert (cv["configured"], cv["value_usd"]) == (False, 0.0)
    bad = keel_cli("report", "roi", "--period", "last-month", "--config", keel_yaml, check=False)
    assert bad.returncode == 2 and "2026-11 (a month)" in bad.stderr
