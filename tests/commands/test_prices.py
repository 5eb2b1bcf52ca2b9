"""``keel prices``: the bundled list as a table, JSON or CSV, and a config's deployments with
the prices they resolve to. Run as a real process."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest
import yaml

from keel.config.prices import PRICE_LIST, PRICE_LIST_AS_OF
from tests.e2e.procs import keel_cli

CONFIG = {
    "regions": {"eu": {}},
    "deployments": [
        {"name": "cloud", "provider": "sim", "model": "m", "region": "eu", "price": "gpt-4.1"},
        {"name": "deal", "provider": "sim", "model": "m", "region": "eu",
         "price": {"list": "claude-sonnet-4", "output_per_mtok": 12.5}},
        {"name": "gpu", "provider": "sim", "model": "m", "region": "eu",
         "price": {"hourly_usd": 2.4}},
    ],
    "models": {"chat": ["cloud", "deal", "gpu"]},
}  # fmt: skip


def write(tmp_path: Path, config: dict[str, object]) -> str:
    path = tmp_path / "keel.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def test_the_table_lists_every_entry_and_says_how_old_it_is() -> None:
    out = keel_cli("prices").stdout
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["name", "provider"] and "cached input $/Mtok" in lines[0]
    listed = {line.split()[0] for line in lines[1 : len(PRICE_LIST) + 1]}
    assert listed == set(PRICE_LIST)
    assert f"as of {PRICE_LIST_AS_OF}" in out and "override them in keel.yaml" in out
    gpt4o = next(line.split() for line in lines if line.startswith("gpt-4o "))
    assert [float(x) for x in gpt4o[2:]] == [2.5, 1.25, 10.0]


def test_json_carries_every_price_and_the_as_of_date() -> None:
    body = orjson.loads(keel_cli("prices", "--format", "json").stdout)
    assert body["as_of"] == PRICE_LIST_AS_OF
    got = {row["name"]: row for row in body["prices"]}
    assert set(got) == set(PRICE_LIST)
    for name, price in PRICE_LIST.items():
        row = got[name]
        assert (row["input_per_mtok"], row["cached_input_per_mtok"], row["output_per_mtok"]) == (
            price.input_per_mtok, price.cached_input_per_mtok, price.output_per_mtok,
        )  # fmt: skip


def test_csv_has_one_row_per_entry() -> None:
    rows = list(csv.DictReader(io.StringIO(keel_cli("prices", "--format", "csv").stdout)))
    assert [r["name"] for r in rows] == list(PRICE_LIST)
    assert {float(r["output_per_mtok"]) for r in rows if r["name"] == "o3"} == {
        PRICE_LIST["o3"].output_per_mtok
    }


def test_with_a_config_each_deployment_shows_its_resolved_price(tmp_path: Path) -> None:
    out = keel_cli("prices", "--config", write(tmp_path, CONFIG), "--format", "json").stdout
    rows = {row["deployment"]: row for row in orjson.loads(out)["prices"]}
    assert list(rows) == ["cloud", "deal", "gpu"]
    cloud, deal, gpu = rows["cloud"], rows["deal"], rows["gpu"]
    assert cloud["list"] == "gpt-4.1" and cloud["overrides"] == {}
    assert cloud["input_per_mtok"] == PRICE_LIST["gpt-4.1"].input_per_mtok
    sonnet = PRICE_LIST["claude-sonnet-4"]
    assert deal["overrides"] == {"output_per_mtok": 12.5}
    assert (deal["input_per_mtok"], deal["cached_input_per_mtok"], deal["output_per_mtok"]) == (
        sonnet.input_per_mtok, sonnet.cached_input_per_mtok, 12.5,
    )  # fmt: skip
    assert gpu["list"] is None and gpu["hourly_usd"] == 2.4 and gpu["input_per_mtok"] == 0


def test_with_a_config_the_table_names_lists_and_overrides(tmp_path: Path) -> None:
    out = keel_cli("prices", "-c", write(tmp_path, CONFIG)).stdout
    deal = next(line for line in out.splitlines() if line.startswith("deal "))
    assert "claude-sonnet-4" in deal and "output_per_mtok=12.5" in deal
    gpu = next(line for line in out.splitlines() if line.startswith("gpu "))
    assert gpu.split()[-1] == "2.4"


@pytest.mark.parametrize("fmt", ["xml", "JSON", ""])
def test_an_unknown_format_is_refused_with_the_choices(fmt: str) -> None:
    result = keel_cli("prices", "--format", fmt, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert "--format must be one of table, json, csv" in result.stderr


def test_a_config_naming_no_list_entry_is_refused(tmp_path: Path) -> None:
    bad = {**CONFIG, "models": {}, "deployments": [
        {"name": "cloud", "provider": "sim", "model": "m", "region": "eu", "price": "gpt-4.1-mni"}
    ]}  # fmt: skip
    result = keel_cli("prices", "--config", write(tmp_path, bad), check=False)
    assert result.returncode == 2
    assert "deployments[0].price" in result.stderr and "gpt-4.1-mini" in result.stderr
    assert "keel prices" in result.stderr
