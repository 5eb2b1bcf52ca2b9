"""An LLM canary judged by its callers' feedback, rolled back through the live rollouts (the
error-judged canary's path): routed around at once, an ``auto_rollback`` event naming quality
written to the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

from keel.config.schema import KeelConfig
from keel.monitor.feedback_rollback import judge_feedback
from keel.monitor.metrics import Metrics
from keel.monitor.quality import QualityMonitor
from keel.routing.rollouts import AUTO_ACTOR, Rollouts
from keel.store.base import Store
from keel.store.feedback import FeedbackRecord
from tests.store.conftest import make_row


def config(**feedback: Any) -> KeelConfig:
    rule = {"good_outcomes": ["resolved"], "min_labels": 20, **feedback}
    return KeelConfig.model_validate({
        "store": {"url": "sqlite:///unused.db"},
        "regions": {"eu": {}},
        "deployments": [{"name": n, "provider": "sim", "model": "sim", "region": "eu"}
                        for n in ("d1", "d2")],
        "models": {"chat": {"deployments": ["d1", "d2"], "rollout": {
            "mode": "canary", "canary": "d2", "percent": 20,
            "auto_rollback": {"feedback": rule}}}},
    })  # fmt: skip


async def feedback(store: Store, deployment: str, good: int, bad: int) -> None:
    rows, now = [], time.time()
    for i in range(good + bad):
        rows.append(make_row(request_id=f"{deployment}-{i}", model="chat", deployment=deployment))
    await store.write(rows)
    for i in range(good + bad):
        outcome = "resolved" if i < good else "escalated"
        await store.add_feedback(FeedbackRecord(now, f"{deployment}-{i}", outcome, "t", None, None))


async def test_a_canary_with_worse_feedback_is_rolled_back(store: Store) -> None:
    cfg = config()
    rollouts = Rollouts(cfg, store)
    await feedback(store, "d1", 45, 5)  # 90% resolved
    await feedback(store, "d2", 10, 15)  # 40%
    monitor = QualityMonitor(cfg, store, Metrics(), rollouts=rollouts)
    monitor.started = 0.0
    await monitor.check(time.time())
    split = rollouts.get("chat")
    assert split is not None and split.state.status == "rolled_back" and split.state.percent == 0
    await rollouts.refresh()  # writes the pending rollback
    (event,) = await store.rollout_events("chat")
    assert (event.action, event.actor) == ("auto_rollback", AUTO_ACTOR)
    assert event.reason.startswith(
        "canary d2 against baseline d1: quality: good feedback (resolved) 40.0% on canary d2 "
        "(25 feedbacks) against 90.0% on d1 (50 feedbacks)"
    )


async def test_feedback_on_calls_before_the_gateway_started_does_not_count(store: Store) -> None:
    await feedback(store, "d1", 45, 5)
    await feedback(store, "d2", 0, 25)
    rollouts = Rollouts(config(), store)
    split = rollouts.get("chat")
    assert split is not None
    assert await judge_feedback(store, split, time.time() + 60) is None
    assert split.state.status == "active"


async def test_no_good_outcomes_no_judgement(store: Store) -> None:
    await feedback(store, "d1", 45, 5)
    await feedback(store, "d2", 0, 25)
    rollouts = Rollouts(config(good_outcomes=[]), store)
    split = rollouts.get("chat")
    assert split is not None and await judge_feedback(store, split, 0.0) is None


async def test_as_good_feedback_or_too_little_stays(store: Store) -> None:
    await feedback(store, "d1", 45, 5)
    await feedback(store, "d2", 17, 3)  # 85% over 20: within noise
    rollouts = Rollouts(config(), store)
    split = rollouts.get("chat")
    assert split is not None and await judge_feedback(store, split, 0.0) is None
    rollouts = Rollouts(config(min_labels=30), store)
    split = rollouts.get("chat")
    assert split is not None and await judge_feedback(store, split, 0.0) is None
