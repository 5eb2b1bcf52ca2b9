"""``keel rollout`` against a real SQLite store: changes, events, refusals, status."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from keel.cli import app
from keel.store import opened_store
from keel.store.rollouts import RolloutEvent, RolloutState
from tests.store.conftest import make_row

CONFIG: dict[str, Any] = {
    "server": {"rollout_refresh_s": 0.5},
    "regions": {"r": {}},
    "deployments": [
        {"name": n, "provider": "sim", "model": "m", "region": "r"} for n in ("v1", "v2", "v3")
    ],
    "models": {
        "chat": {"deployments": ["v1", "v2"],
                 "rollout": {"mode": "canary", "canary": "v2", "percent": 10}},
        "plain": ["v1", "v3"],
        "solo": ["v1"],
    },
}  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "keel.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "store": {"url": f"sqlite:///{tmp_path}/k.db"}}))
    return path


def keel(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["rollout", *args, "--config", str(config)])
    return result.exit_code, result.stdout, result.stderr


def stored(config: Path) -> tuple[list[RolloutState], list[RolloutEvent]]:
    async def read() -> tuple[list[RolloutState], list[RolloutEvent]]:
        async with opened_store(f"sqlite:///{config.parent}/k.db") as store:
            return await store.rollouts(), await store.rollout_events(limit=100)

    return asyncio.run(read())


def test_set_promote_rollback_each_write_the_split_and_an_event(config: Path) -> None:
    code, out, err = keel(config, "set", "chat", "--canary", "v2", "--percent", "25",
                          "--reason", "ramp up")  # fmt: skip
    assert code == 0, err
    assert "canary v2 at 25% (baseline v1)" in out and "version 1" in out
    assert "within 0.5s" in err
    assert keel(config, "promote", "chat")[0] == 0
    assert keel(config, "rollback", "chat", "--reason", "bad answers")[0] == 0
    (state,), events = stored(config)
    assert (state.percent, state.status, state.version) == (0.0, "rolled_back", 3)
    assert [e.action for e in events] == ["set", "promote", "rollback"]
    assert events[0].before is not None and events[0].before["percent"] == 10.0  # the config's
    assert events[0].reason == "ramp up" and events[2].reason == "bad answers"
    assert events[1].after["status"] == "promoted" and events[1].after["percent"] == 100.0
    assert all(e.actor.startswith("cli:") and "@" in e.actor for e in events)


def test_set_with_percent_alone_keeps_the_canary_and_sticky(config: Path) -> None:
    assert (
        keel(config, "set", "chat", "--canary", "v2", "--percent", "5", "--sticky", "team")[0] == 0
    )
    code, out, _ = keel(config, "set", "chat", "--percent", "40")
    assert code == 0 and "canary v2 at 40%" in out and "sticky by team" in out


def test_an_ab_split_on_a_model_without_a_rollout(config: Path) -> None:
    code, out, err = keel(config, "set", "plain", "--weights", "v1=70, v3=30")
    assert code == 0, err
    assert "A/B v1 70%, v3 30%" in out
    (state,), _ = stored(config)
    assert (state.mode, state.weights, state.canary) == ("ab", {"v1": 70.0, "v3": 30.0}, None)


def test_the_same_split_again_changes_nothing(config: Path) -> None:
    assert keel(config, "set", "chat", "--canary", "v2", "--percent", "30")[0] == 0
    code, out, _ = keel(config, "set", "chat", "--canary", "v2", "--percent", "30")
    assert code == 0 and "no change" in out
    assert len(stored(config)[1]) == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("set", "nope", "--canary", "v2", "--percent", "5"), "no model 'nope'"),
        (("set", "chat", "--canary", "v3", "--percent", "5"), "'v3' is not a deployment of chat"),
        (("set", "chat", "--canary", "v2", "--percent", "150"), "between 0 and 100"),
        (("set", "chat", "--canary", "v2", "--percent", "-1"), "between 0 and 100"),
        (("set", "chat", "--canary", "v2"), "--percent N"),
        (("set", "plain", "--percent", "5"), "--canary DEPLOYMENT"),
        (("set", "solo", "--canary", "v1", "--percent", "5"), "another deployment"),
        (("set", "chat", "--canary", "v2", "--percent", "5", "--sticky", "ip"), "--sticky"),
        (("set", "plain", "--weights", "v1:70,v3:30"), "name=share"),
        (("set", "plain", "--weights", "v1=lots"), "name=share"),
        (("set", "plain", "--weights", "v1=-5,v3=5"), "name=share"),
        (("set", "plain", "--weights", "v1=0,v3=0"), "all 0"),
        (("set", "plain", "--weights", "v1=1,v1=2"), "twice"),
        (("set", "plain", "--weights", "v1=1,v2=2"), "'v2' is not a deployment of plain"),
        (("set", "chat", "--weights", "v1=1", "--percent", "5"), "either --weights"),
        (("promote", "plain"), "no canary to promote"),
        (("rollback", "plain"), "no canary to roll back"),
        (("promote", "nope"), "no model 'nope'"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_exit_2_and_nothing_written(
    config: Path, args: tuple[str, ...], words: str
) -> None:
    code, out, err = keel(config, *args)
    assert code == 2, (out, err)
    assert words in err, err
    assert stored(config) == ([], [])


def test_promote_refuses_an_ab_split(config: Path) -> None:
    assert keel(config, "set", "chat", "--weights", "v1=1,v2=1")[0] == 0
    code, _, err = keel(config, "promote", "chat")
    assert code == 2 and "an A/B split" in err and "keel rollout set chat --canary" in err
    assert len(stored(config)[1]) == 1


def test_status_shows_the_split_the_numbers_and_the_events(config: Path) -> None:
    code, out, _ = keel(config, "status")
    assert code == 0 and "chat: canary v2 at 10% (baseline v1)" in out and "keel.yaml" in out
    assert "plain" not in out  # no rollout there
    assert (
        keel(config, "set", "chat", "--canary", "v2", "--percent", "50", "--reason", "go")[0] == 0
    )

    def call(*attempts: tuple[str, str | None, float]) -> dict[str, Any]:
        listed = [{"deployment": d, "error": e, "ms": ms} for d, e, ms in attempts]
        return make_row(model="chat", ts=time.time() + 1, attempts=orjson.dumps(listed).decode())

    rows = [call(("v2", "upstream_error", 3.0), ("v1", None, 20.0)) for _ in range(3)]
    rows += [call(("v2", None, 40.0)) for _ in range(7)]
    rows += [call(("v1", None, 10.0)) for _ in range(10)]

    async def write() -> None:
        async with opened_store(f"sqlite:///{config.parent}/k.db") as store:
            await store.write_usage(rows)

    asyncio.run(write())
    code, out, _ = keel(config, "status", "chat", "--format", "json")
    (report,) = orjson.loads(out)
    assert (report["source"], report["split"]["version"], report["calls"]) == ("store", 1, 20)
    stats = {d["deployment"]: d for d in report["deployments"]}
    v2 = stats["v2"]
    assert (v2["role"], v2["attempts"], v2["errors"]) == ("canary", 10, 3)
    assert stats["v2"]["error_rate"] == pytest.approx(0.3) and stats["v2"]["p95_ms"] == 40.0
    assert (stats["v1"]["role"], stats["v1"]["attempts"], stats["v1"]["errors"]) == (
        "baseline", 13, 0,
    )  # fmt: skip
    assert stats["v1"]["p95_ms"] == 20.0
    assert [e["action"] for e in report["events"]] == ["set"]

    code, out, _ = keel(config, "status", "chat")
    assert code == 0
    assert "from the store, version 1" in out and "30.0%" in out and "set  by cli:" in out
    assert "canary v2 at 10% (baseline v1) -> canary v2 at 50% (baseline v1) (go)" in out


def test_status_of_an_unknown_model_or_format_is_refused(config: Path) -> None:
    assert keel(config, "status", "nope")[0] == 2
    code, _, err = keel(config, "status", "--format", "xml")
    assert code == 2 and "table, json" in err
