"""The quality monitor on a real store (SQLite and PostgreSQL): gauges per version, drop
findings against the registered or the version's own earlier accuracy, and a predictive canary
rolled back on its labels through the rollout family, with a reason that names quality."""

from __future__ import annotations

import time
from typing import Any

import pytest

from keel.config.policies import QualityRollbackConfig
from keel.config.schema import KeelConfig
from keel.monitor.findings import Finding
from keel.monitor.metrics import Metrics
from keel.monitor.quality import QualityMonitor
from keel.monitor.quality_rollback import Arm, quality_verdict
from keel.routing.rollouts import AUTO_ACTOR
from keel.store.base import Store
from keel.store.models import AliasMove, ModelVersion
from keel.store.quality import LabelRecord, PredictionRow
from keel.store.rollouts import RolloutChange, RolloutState, predictive_key

NOW = time.time()
DAY = 86_400.0


def config(**quality: Any) -> KeelConfig:
    return KeelConfig.model_validate({
        "store": {"url": "sqlite:///unused.db"},
        "monitors": {"quality": {"min_labels": 20, "max_drop": 0.05, **quality}},
        "predictive": {"models": {"clf": {"auto_rollback": {"min_labels": 30}}}},
    })  # fmt: skip


async def register(store: Store, metrics: dict[str, Any] | None = None) -> None:
    record = ModelVersion("clf", "0" * 64, "onnx", {}, "test", NOW, metrics=metrics or {})
    await store.add_model_version(record)


async def labelled(
    store: Store, version: int, right: int, wrong: int, ts: float, prefix: str, kind: str = "call"
) -> None:
    """``right`` rows predicted right, ``wrong`` predicted wrong, all labelled."""
    rows, labels = [], []
    for i in range(right + wrong):
        rid = f"{prefix}-{i}"
        rows.append(PredictionRow(rid, kind, "clf", version, ts, 0, "1", 0.9, (0.1, 0.9)))
        labels.append(LabelRecord(ts, rid, 0, "1" if i < right else "0", "clf", "t", None, "api"))
    await store.add_predictions(rows)
    await store.add_labels(labels)


def monitor(store: Store, cfg: KeelConfig) -> tuple[Metrics, QualityMonitor, list[Finding]]:
    found: list[Finding] = []

    async def report(finding: Finding) -> None:
        found.append(finding)

    metrics = Metrics()
    return metrics, QualityMonitor(cfg, store, metrics, report), found


def gauge(metrics: Metrics, version: str, metric: str) -> float | None:
    return metrics.registry.get_sample_value(
        "keel_quality", {"model": "clf", "version": version, "metric": metric}
    )


async def test_gauges_and_a_drop_against_the_registered_accuracy(store: Store) -> None:
    await register(store, {"accuracy": 0.95})
    await labelled(store, 1, 30, 10, NOW - 60, "a")  # 75%: 20 points under the held-out 95%
    metrics, quality, found = monitor(store, config())
    await quality.tick(NOW)
    assert gauge(metrics, "1", "accuracy") == pytest.approx(0.75)
    assert gauge(metrics, "1", "calibration_error") == pytest.approx(abs(0.75 - 0.9))
    assert gauge(metrics, "1", "brier") is not None
    (finding,) = found
    assert (finding.kind, finding.subject, finding.active) == ("quality", "clf:1", True)
    assert finding.value == pytest.approx(0.75) and finding.threshold == pytest.approx(0.90)
    assert "registered held-out accuracy" in finding.message
    joined = metrics.registry.get_sample_value(
        "keel_quality_labels_total", {"model": "clf", "version": "1", "source": "api"}
    )
    assert joined == 40
    await quality.tick(NOW + 1)  # within check_s: nothing new
    assert len(found) == 1
    await quality.tick(NOW + 61)
    assert (
        len(found) == 2
        and metrics.registry.get_sample_value(
            "keel_quality_labels_total", {"model": "clf", "version": "1", "source": "api"}
        )
        == 40
    )  # the same labels are not counted twice


async def test_without_a_registered_accuracy_the_earlier_window_is_the_reference(
    store: Store,
) -> None:
    await register(store)
    await labelled(store, 1, 38, 2, NOW - 3 * DAY, "early")  # 95%
    await labelled(store, 1, 39, 1, NOW - 60, "late")  # 97.5%: no drop
    _, quality, found = monitor(store, config())
    await quality.check(NOW)
    (finding,) = found
    assert not finding.active and "40 earlier labels" in finding.message
    assert finding.threshold == pytest.approx(0.90)


async def test_too_few_labels_or_nothing_to_compare_gives_no_finding(store: Store) -> None:
    await register(store)
    await labelled(store, 1, 5, 5, NOW - 60, "few")  # under min_labels
    await labelled(store, 1, 0, 0, NOW - 60, "none")
    metrics, quality, found = monitor(store, config())
    await quality.check(NOW)
    assert found == [] and gauge(metrics, "1", "accuracy") == pytest.approx(0.5)
    await labelled(store, 1, 20, 0, NOW - 60, "more")  # enough labels, no reference
    await quality.check(NOW)
    assert found == []


async def canary(store: Store, percent: float = 20.0) -> RolloutState:
    await register(store)
    await register(store)
    for alias, version in (("champion", 1), ("challenger", 2)):
        await store.move_model_alias(AliasMove("clf", alias, version, "test", "", NOW))
    state = RolloutState(predictive_key("clf"), "canary", "challenger", percent, sticky="key")
    stored = await store.change_rollout(RolloutChange(None, state, "set", "test", "", NOW - 600))
    assert stored is not None
    return stored


async def test_a_worse_canary_is_rolled_back_with_a_quality_reason(store: Store) -> None:
    await canary(store)
    await labelled(store, 1, 95, 5, NOW - 60, "champ")
    await labelled(store, 2, 21, 9, NOW - 60, "canary")  # 70% against 95%
    await labelled(store, 2, 0, 40, NOW - 60, "shadowed", kind="shadow")  # not judged
    metrics, quality, _ = monitor(store, config())
    await quality.check(NOW)
    (state,) = await store.rollouts()
    assert (state.status, state.percent) == ("rolled_back", 0.0)
    event = (await store.rollout_events(predictive_key("clf")))[-1]
    assert (event.action, event.actor) == ("auto_rollback", AUTO_ACTOR)
    assert event.reason.startswith("quality: labelled accuracy 70.0% on canary challenger")
    assert "95.0% on champion (version 1, 100 labels)" in event.reason
    assert metrics.registry.get_sample_value("keel_rollout_rollbacks_total", {"model": "clf"}) == 1


async def test_a_canary_labelled_before_its_split_changed_is_not_judged(store: Store) -> None:
    await canary(store)
    await labelled(store, 1, 95, 5, NOW - 3600, "champ")  # before the split's last change
    await labelled(store, 2, 10, 20, NOW - 3600, "canary")
    _, quality, _ = monitor(store, config())
    await quality.check(NOW)
    (state,) = await store.rollouts()
    assert state.status == "active"


async def test_a_canary_as_good_stays(store: Store) -> None:
    await canary(store)
    await labelled(store, 1, 90, 10, NOW - 60, "champ")
    await labelled(store, 2, 28, 2, NOW - 60, "canary")
    _, quality, _ = monitor(store, config())
    await quality.check(NOW)
    (state,) = await store.rollouts()
    assert state.status == "active"


async def test_a_rule_turned_off_leaves_a_worse_canary(store: Store) -> None:
    await canary(store)
    await labelled(store, 1, 95, 5, NOW - 60, "champ")
    await labelled(store, 2, 0, 30, NOW - 60, "canary")
    off = {"models": {"clf": {"auto_rollback": {"enabled": False}}}}
    cfg = KeelConfig.model_validate({"store": {"url": "sqlite:///unused.db"}, "predictive": off})
    _, quality, _ = monitor(store, cfg)
    await quality.check(NOW)
    (state,) = await store.rollouts()
    assert state.status == "active"


RULE = QualityRollbackConfig(min_labels=100, min_drop=0.02, alpha=0.01)


def test_the_verdict_waits_for_labels_on_both_arms() -> None:
    assert quality_verdict(Arm("c", 2, 0, 99), Arm("champion", 1, 1000, 1000), RULE) is None


def test_the_verdict_ignores_a_small_or_insignificant_drop() -> None:
    # 1.5 points: under min_drop, however many labels
    assert quality_verdict(Arm("c", 2, 9850, 10000), Arm("b", 1, 10000, 10000), RULE) is None
    # 5 points over 100 labels each: 85% against 90%, p = 0.14
    assert quality_verdict(Arm("c", 2, 85, 100), Arm("b", 1, 90, 100), RULE) is None


def test_the_verdict_rolls_back_a_significant_drop() -> None:
    reason = quality_verdict(Arm("c", 2, 70, 100), Arm("champion", 1, 90, 100), RULE)
    assert reason is not None and "p=0.0002 < alpha 0.01" in reason and "-20.0 points" in reason
