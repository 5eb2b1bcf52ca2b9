"""The monitors a gateway runs, built from ``monitors:`` in its config (keel.monitor.tap)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keel.call import Call
from keel.config.schema import KeelConfig
from keel.monitor.alerts import Alerter
from keel.monitor.drift_check import DriftCheck
from keel.monitor.drift_windows import RowSampler
from keel.monitor.embeddings import EmbeddingDriftMonitor
from keel.monitor.episodes import Episodes
from keel.monitor.metrics import Metrics
from keel.monitor.predictions import PredictionLog
from keel.monitor.quality import QualityMonitor
from keel.monitor.regressions import RegressionMonitor
from keel.monitor.tap import Monitor, Tap
from keel.monitor.traffic import TrafficMonitor
from keel.store.base import Store

if TYPE_CHECKING:
    from keel.routing.rollouts import Rollouts

__all__ = ["build_tap"]


def build_tap(
    config: KeelConfig, store: Store, metrics: Metrics, rollouts: Rollouts, alerter: Alerter
) -> Tap | None:
    settings = config.monitors
    if not settings.enabled:
        return None
    report = Episodes(store, alerter, settings.resolve_after).report

    def arm_of(call: Call) -> str:
        return rollouts.arm(call.model, call.deployment)

    monitors: list[Monitor] = [TrafficMonitor(metrics, arm_of)]
    if settings.drift.enabled:
        monitors.append(RowSampler(settings.drift, store))
        monitors.append(DriftCheck(settings.drift, store, metrics, report))
    if settings.regressions.enabled:
        monitors.append(RegressionMonitor(settings.regressions, report))
    if settings.quality.enabled:
        monitors.append(PredictionLog(store, metrics, settings.quality))
        monitors.append(QualityMonitor(config, store, metrics, report, rollouts))
    if settings.embeddings.enabled:
        monitors.append(
            EmbeddingDriftMonitor(
                settings.embeddings, config.data_classes, store, metrics, arm_of, report
            )
        )
    return Tap(monitors, settings.queue, metrics)
