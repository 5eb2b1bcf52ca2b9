"""Quality per model version, from labels joined to the prediction log, and LLM feedback
scores per deployment; checked every ``monitors.quality.check_s`` off the hot path.

Each check, for every registered predictive model: its labelled rows of the last
``history_s`` (keel.store.quality; the newest ``MAX_ROWS`` of them), per version (real calls
and shadow copies alike: both are that version's answers), scored over the latest
``window_s`` (keel.monitor.quality_metrics) into ``keel_quality{model, version, metric}``
(accuracy, precision and recall as macro means, calibration_error (ECE), brier), and newly
joined labels counted in ``keel_quality_labels``.

A drop (a ``Finding`` of kind ``quality``, subject ``MODEL:VERSION``, reported on every check
that can judge): the latest window has ``min_labels`` labelled rows or more and its accuracy is
below the version's reference by more than ``max_drop``. The reference is the accuracy the
version was registered with (its held-out ``accuracy`` metric), else the version's own accuracy
over the earlier part of ``history_s`` when that has ``min_labels`` rows; without either there
is nothing to compare with and no finding.

Then each active predictive canary is judged on its labels (keel.monitor.quality_rollback), and
each LLM canary on its feedback where its rule names good outcomes
(keel.monitor.feedback_rollback).

For LLM models (``models:``): feedback outcomes (POST /v1/feedback) over the latest window;
outcomes that are numbers (a 1-5 rating, a 0-1 score) are averaged per deployment into
``keel_quality{model, version=DEPLOYMENT, metric="feedback_score"}``. The distribution of every
outcome is in ``keel quality report``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence

from keel.call import Call
from keel.config.schema import KeelConfig
from keel.monitor.feedback_rollback import judge_feedback
from keel.monitor.findings import Finding, Report
from keel.monitor.metrics import Metrics
from keel.monitor.quality_metrics import Scores, score
from keel.monitor.quality_rollback import judge_canary
from keel.routing.rollouts import Rollouts
from keel.store.base import Store
from keel.store.models import ModelVersion
from keel.store.quality import Labelled
from keel.store.rollouts import RolloutState, is_predictive

__all__ = ["QualityMonitor", "held_out_accuracy", "numeric"]

log = logging.getLogger("keel.monitor")

# Labelled rows read per model and check, the newest: enough to tell accuracy to a few tenths
# of a point, few enough that reading them every minute stays cheap.
MAX_ROWS = 50_000


def held_out_accuracy(record: ModelVersion | None) -> float | None:
    """The accuracy a version was registered with, if it was (a number in [0, 1])."""
    value = record.metrics.get("accuracy") if record is not None else None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


def numeric(outcome: str) -> float | None:
    try:
        value = float(outcome)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


class QualityMonitor:
    name = "quality"

    def __init__(
        self,
        config: KeelConfig,
        store: Store,
        metrics: Metrics,
        report: Report | None = None,
        rollouts: Rollouts | None = None,
    ) -> None:
        """``rollouts``: the gateway's live LLM splits, for canaries judged by feedback."""
        self.config = config
        self.rollouts = rollouts
        self.started = time.time()
        self.settings = config.monitors.quality
        self.store = store
        self.metrics = metrics
        self.report = report
        self._checked = 0.0
        self._seen: dict[str, float] = {}  # per model: the latest label time counted

    def read(self, call: Call) -> None:
        return None  # reads the store: the prediction log writes what it needs

    async def tick(self, now: float) -> None:
        if now - self._checked < self.settings.check_s:
            return
        self._checked = now
        await self.check(now)

    async def check(self, now: float) -> None:
        versions: dict[str, dict[int, ModelVersion]] = defaultdict(dict)
        for record in await self.store.model_versions():
            versions[record.name][record.version] = record
        states = {s.model: s for s in await self.store.rollouts() if is_predictive(s.model)}
        for name, records in versions.items():
            rows = await self.store.labelled(name, now - self.settings.history_s, MAX_ROWS)
            if not rows:
                continue
            self._count(name, rows)
            await self._versions(name, records, rows, now)
            state = states.get(f"predictive:{name}")
            if state is not None:
                await self._judge(name, state, rows, now)
        for model in self.config.models:
            await self._feedback(model, now)
        if self.rollouts is not None:
            for split in self.rollouts.splits().values():
                await judge_feedback(self.store, split, self.started)

    def _count(self, name: str, rows: Sequence[Labelled]) -> None:
        seen = self._seen.get(name, 0.0)
        for r in rows:
            if r.labelled_at > seen:
                self.metrics.labels_joined.labels(name, str(r.version), r.source).inc()
        self._seen[name] = max([seen, *(r.labelled_at for r in rows)])

    async def _versions(
        self, name: str, records: dict[int, ModelVersion], rows: Sequence[Labelled], now: float
    ) -> None:
        # Scored on a thread: a busy model's month of labels is a second of arithmetic.
        scored = await asyncio.to_thread(_by_version, rows, now - self.settings.window_s)
        for version, (latest, earlier) in scored.items():
            self._gauges(name, version, latest)
            finding = self._finding(name, version, latest, earlier, records.get(version))
            if finding is not None and self.report is not None:
                await self.report(finding)

    def _gauges(self, name: str, version: int, s: Scores) -> None:
        values = {
            "accuracy": s.accuracy, "precision": s.macro_precision, "recall": s.macro_recall,
            "calibration_error": s.ece, "brier": s.brier,
        }  # fmt: skip
        for metric, value in values.items():
            if value is not None:
                self.metrics.quality.labels(name, str(version), metric).set(value)

    def _finding(
        self, name: str, version: int, latest: Scores, earlier: Scores, record: ModelVersion | None
    ) -> Finding | None:
        minimum = self.settings.min_labels
        if latest.accuracy is None or latest.labelled < minimum:
            return None
        reference, source = held_out_accuracy(record), "registered held-out accuracy"
        if reference is None and earlier.accuracy is not None and earlier.labelled >= minimum:
            reference = earlier.accuracy
            source = f"its accuracy over {earlier.labelled} earlier labels"
        if reference is None:
            return None
        threshold = reference - self.settings.max_drop
        active = latest.accuracy < threshold
        verb = "dropped to" if active else "is"
        message = (
            f"{name}:{version} accuracy {verb} {latest.accuracy:.1%} over its latest "
            f"{latest.labelled} labels, against {reference:.1%} ({source}); a drop is below "
            f"{threshold:.1%}. Look at recent inputs (drift) and label quality."
        )
        details = {
            "labels": latest.labelled, "reference": reference, "reference_source": source,
            "precision": latest.macro_precision, "recall": latest.macro_recall,
            "calibration_error": latest.ece,
        }  # fmt: skip
        return Finding("quality", f"{name}:{version}", active, message, latest.accuracy,
                       threshold, details)  # fmt: skip

    async def _judge(
        self, name: str, state: RolloutState, rows: Sequence[Labelled], now: float
    ) -> None:
        stored = await judge_canary(self.store, self.store, self.config.predictive, name, state,
                                    rows, now)  # fmt: skip
        if stored is not None:
            self.metrics.rolled_back(name)

    async def _feedback(self, model: str, now: float) -> None:
        joined = await self.store.feedback_joined(model, now - self.settings.window_s)
        scores: dict[str, list[float]] = defaultdict(list)
        for f in joined:
            value = numeric(f.outcome)
            if value is not None:
                scores[f.deployment or "-"].append(value)
        for deployment, values in scores.items():
            mean = sum(values) / len(values)
            self.metrics.quality.labels(model, deployment, "feedback_score").set(mean)

    async def close(self) -> None:
        return None


def _by_version(rows: Sequence[Labelled], start: float) -> dict[int, tuple[Scores, Scores]]:
    """Each version's scores over the latest window (from ``start``) and before it."""
    by_version: dict[int, list[Labelled]] = defaultdict(list)
    for r in rows:
        by_version[r.version].append(r)
    return {
        version: (_scores([r for r in mine if r.ts >= start]),
                  _scores([r for r in mine if r.ts < start]))
        for version, mine in sorted(by_version.items())
    }  # fmt: skip


def _scores(rows: Sequence[Labelled]) -> Scores:
    return score([(r.predicted, r.label, r.probabilities or ()) for r in rows])
