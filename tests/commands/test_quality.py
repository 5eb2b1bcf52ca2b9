"""``keel models labels`` (CSV into a real SQLite store: bad lines named, good kept) and
``keel quality report`` (per version and period, table and JSON; LLM feedback per deployment
and arm), end to end through the CLI."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from keel.cli import app
from keel.store import opened_store
from keel.store.feedback import FeedbackRecord
from keel.store.models import ModelVersion
from keel.store.quality import PredictionRow
from tests.store.conftest import make_row

DAY = 86_400.0
NOW = time.time()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "keel.yaml"
    path.write_text(yaml.safe_dump({
        "store": {"url": f"sqlite:///{tmp_path}/k.db"},
        "regions": {"eu": {}},
        "deployments": [{"name": n, "provider": "sim", "model": "sim", "region": "eu"}
                        for n in ("d1", "d2")],
        "models": {"chat": {"deployments": ["d1", "d2"],
                            "rollout": {"mode": "canary", "canary": "d2", "percent": 10}}},
    }))  # fmt: skip
    return path


def keel(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(config)])
    return result.exit_code, result.stdout, result.stderr


def seed(config: Path) -> None:
    """clf with two versions; four calls of two rows each, two days apart."""
    url = yaml.safe_load(config.read_text())["store"]["url"]

    async def go() -> None:
        async with opened_store(url) as store:
            for _ in range(2):
                await store.add_model_version(ModelVersion("clf", "0" * 64, "onnx", {}, "t", NOW,
                                                           metrics={"accuracy": 0.9}))  # fmt: skip
            rows, usage = [], []
            for i, (version, ts) in enumerate(((1, NOW - 2 * DAY), (1, NOW), (2, NOW), (2, NOW))):
                usage.append(make_row(request_id=f"r{i}", model="clf", team="t"))
                for row, label in enumerate(("1", "0")):
                    rows.append(
                        PredictionRow(
                            f"r{i}",
                            "call",
                            "clf",
                            version,
                            ts,
                            row,
                            label,
                            0.8,
                            (0.2, 0.8) if label == "1" else (0.8, 0.2),
                        )
                    )
            usage += [make_row(request_id="c1", model="chat", deployment="d1"),
                      make_row(request_id="c2", model="chat", deployment="d2")]  # fmt: skip
            await store.write(usage)
            await store.add_predictions(rows)
            for rid, outcome in (("c1", "5"), ("c2", "2"), ("c1", "resolved")):
                await store.add_feedback(FeedbackRecord(time.time(), rid, outcome, "t", None, None))

    asyncio.run(go())


def test_labels_from_csv_keep_the_good_lines_and_name_the_bad(config: Path, tmp_path: Path) -> None:
    seed(config)
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "request_id,label,row\n"
        "r0,1,0\n"  # line 2
        "r0,1,1\n"
        "r1,0,\n"  # row left out: 0
        "nobody,1,0\n"  # line 5
        "r2,,0\n"  # line 6: no label
        "r2,1,x\n"  # line 7
        "r2,1,0\nr2,0,1\nr3,1,0\nr3,1,1\n"
    )
    code, out, err = keel(config, "models", "labels", "clf", str(csv))
    assert code == 1
    assert "clf: 7 labels recorded, 3 lines refused" in out
    lines = [line for line in err.splitlines() if line.startswith("keel:")]
    assert [line.split(": ")[2] for line in lines] == ["line 5", "line 6", "line 7"]
    assert "no call to 'clf' has the id 'nobody'" in lines[0]
    assert "label must be" in lines[1] and "row must be" in lines[2]

    code, out, err = keel(config, "quality", "report", "clf", "--json")
    assert code == 0, err
    report = orjson.loads(out)
    by_version = {(r["version"], r["period"]): r for r in report["versions"]}
    assert len(by_version) == 3  # version 1 on two days, version 2 on one
    today = time.strftime("%Y-%m-%d", time.gmtime(NOW))
    v2 = by_version[(2, today)]
    # r2 labelled right on both rows, r3 row 1 wrong (predicted 0, label 1)
    assert (v2["labels"], v2["accuracy"], v2["held_out_accuracy"]) == (4, 0.75, 0.9)
    assert v2["classes"]["1"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "support": 3}

    code, out, _ = keel(config, "quality", "report", "clf", "--by", "week")
    assert code == 0
    header, *rows = out.splitlines()[:4]
    assert header.split()[:4] == ["version", "kind", "week", "labels"]
    assert rows[-1].split()[:5] == ["2", "call", time.strftime("%G-W%V", time.gmtime(NOW)),
                                    "4", "75.0%"]  # fmt: skip


def test_an_llm_models_feedback_per_deployment_and_arm(config: Path) -> None:
    seed(config)
    code, out, err = keel(config, "quality", "report", "chat", "--json")
    assert code == 0, err
    rows = {r["deployment"]: r for r in orjson.loads(out)["feedback"]}
    assert (rows["d1"]["arm"], rows["d2"]["arm"]) == ("baseline", "canary")
    assert rows["d1"]["outcomes"] == {"resolved": 1}  # the call's latest feedback
    assert rows["d2"]["mean_score"] == 2.0


def test_refusals(config: Path, tmp_path: Path) -> None:
    seed(config)
    code, _, err = keel(config, "quality", "report", "nothing")
    assert code == 2 and "neither a registered model" in err
    code, _, err = keel(config, "quality", "report", "clf", "--by", "month")
    assert code == 2 and "--by must be day or week" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("id,value\nr0,1\n")
    code, _, err = keel(config, "models", "labels", "clf", str(bad))
    assert code == 2 and "missing: label, request_id" in err
    bad.write_text("request_id,label\nr0,1\n")
    code, _, err = keel(config, "models", "labels", "nope", str(bad))
    assert code == 2 and "no model named 'nope'" in err
