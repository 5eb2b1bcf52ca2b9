"""``keel monitor pin``, ``pins``, ``report`` and ``episodes`` against a real SQLite store."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from keel.cli import app
from keel.store import opened_store
from keel.store.embeddings import EmbeddingCheck, EmbeddingPin, PromptVector
from keel.store.episodes import EpisodeRecord

CONFIG: dict[str, Any] = {
    "regions": {"r": {}},
    "deployments": [{"name": "v1", "provider": "sim", "model": "m", "region": "r"}],
    "models": {"chat": ["v1"], "plain": ["v1"]},
    "monitors": {"embeddings": {"min_vectors": 10, "window": 20}},
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "keel.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "store": {"url": f"sqlite:///{tmp_path}/k.db"}}))
    return path


def keel(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["monitor", *args, "--config", str(config)])
    return result.exit_code, result.stdout, result.stderr


def in_store(config: Path, action: Any) -> Any:
    async def go() -> Any:
        async with opened_store(f"sqlite:///{config.parent}/k.db") as store:
            return await action(store)

    return asyncio.run(go())


def vectors(count: int, start: float) -> list[PromptVector]:
    return [PromptVector(start + i, "chat", "v1", "-", bytes(768)) for i in range(count)]


def test_pin_stores_the_window_and_the_latest_pin_wins(config: Path) -> None:
    now = time.time()
    in_store(config, lambda s: s.add_prompt_vectors(vectors(12, now - 3 * 86400)))
    code, out, err = keel(config, "pin", "chat", "--since", "4d", "--until", "2d")
    assert code == 0, err
    assert out.startswith("chat: reference pinned to ") and "(12 prompt vectors)" in out
    code, out, err = keel(config, "pin", "chat", "--since", "1d")
    assert code == 0, err
    assert "(0 prompt vectors)" in out and "a check needs 10 vectors" in out
    pins: list[EmbeddingPin] = in_store(config, lambda s: s.embedding_pins())
    (pin,) = pins
    assert pin.until - pin.since == pytest.approx(86400, abs=5) and pin.until <= time.time()
    assert pin.actor.startswith("cli:")
    code, out, _ = keel(config, "pins")
    assert code == 0 and "chat" in out and "cli:" in out
    code, out, _ = keel(config, "pins", "--format", "json")
    assert [p["model"] for p in orjson.loads(out)] == ["chat"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(("pin", "nope", "--since", "1d"), "no model 'nope'"),
     (("pin", "chat", "--since", "1d", "--until", "2d"), "must come before"),
     (("pin", "chat", "--since", "yesterday"), "cannot read 'yesterday'"),
     (("pin", "chat", "--since", "2d", "--until", "2999-01-01"), "in the future"),
     (("report", "chat", "--format", "xml"), "--format must be one of")],
)  # fmt: skip
def test_bad_input_is_refused_with_exit_2(
    config: Path, args: tuple[str, ...], message: str
) -> None:
    code, _, err = keel(config, *args)
    assert code == 2 and message in err


def check(ts: float, arm: str, p: float) -> EmbeddingCheck:
    score = -math.log10(p)
    return EmbeddingCheck(ts, "chat", arm, 1, 500, 120, 0.01, p, score, 0.01, p < 0.01)


def test_report_prints_the_latest_check_with_its_arms(config: Path) -> None:
    code, out, _ = keel(config, "report", "chat")
    assert code == 0 and "no embedding drift check yet" in out
    for c in (check(100.0, "", 0.5), check(200.0, "", 0.004), check(200.0, "canary", 0.002)):
        in_store(config, lambda s, c=c: s.add_embedding_check(c))
    code, out, err = keel(config, "report", "chat")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("chat: checked 1970-01-01 00:03:20")
    assert lines[1].split() == ["subject", "verdict", "score", "p-value", "alpha", "n",
                                "reference", "n", "current"]  # fmt: skip
    assert lines[2].split() == ["chat", "DRIFT", "2.40", "0.0040", "0.01", "500", "120"]
    assert lines[3].split()[:2] == ["chat/canary", "DRIFT"]
    assert len(lines) == 4  # the older check is not shown
    code, out, _ = keel(config, "report", "chat", "--format", "json")
    assert [(c["arm"], c["p_value"]) for c in orjson.loads(out)] == [
        ("canary", 0.002), ("", 0.004),
    ]  # fmt: skip


def test_episodes_lists_open_and_ended_ones(config: Path) -> None:
    now = time.time()

    async def two(store: Any) -> None:
        await store.open_episode(
            EpisodeRecord("errors", "chat", now - 600, "chat: 30% failed", 0.3, 0.05)
        )
        await store.close_episode("errors", "chat", now - 300)
        await store.open_episode(EpisodeRecord("drift", "fraud:3", now - 60, "amount", 4.2, 1.3))

    in_store(config, two)
    code, out, err = keel(config, "episodes")
    assert code == 0, err
    assert "chat: 30% failed" in out and "fraud:3" in out and "open" in out
    code, out, err = keel(config, "episodes", "--open", "--format", "json")
    assert code == 0, err
    (only,) = orjson.loads(out)
    assert (only["kind"], only["subject"], only["resolved_at"]) == ("drift", "fraud:3", None)
