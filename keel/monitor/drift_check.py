"""The drift check: each predictive model version's live window (keel.monitor.drift_windows,
kept in the store) against the reference registered with the version (keel.monitor.drift).

Every ``check_s`` a gateway reads, for each version with rows in the last ``window_s``, the
latest ``window_rows`` of them in time order; with ``min_rows`` or more, it runs the
per-feature tests in a thread, sets ``keel_drift_score{model,version,feature}`` and
``keel_drift_detected{model,version}``, and reports a ``drift`` finding (subject
``model:version``) to the alert episodes. Every replica reads the same window, so replicas
agree on the verdict; the episode store makes one alert of it.

A live row's columns are named by the model's inputs (``X[0]``… for one wide input, the
input's name for a one-wide one). They are matched to the reference's columns by name, else,
when the model has one wide input as wide as the reference, by position (the training CSV's
header order). A version registered without a reference sample is reported once in the log
and not checked.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from keel.call import Call
from keel.config.monitors import DriftMonitorConfig
from keel.monitor.drift import DriftReport, NoReferenceSample, Reference, detect
from keel.monitor.drift_windows import columns_of
from keel.monitor.findings import Finding, Report
from keel.monitor.metrics import Metrics
from keel.store.drift import DriftRow, DriftStore
from keel.store.models import ModelStore

__all__ = ["DriftCheck", "WindowCheck", "check_window", "window_columns"]

log = logging.getLogger("keel.monitor")


class _Store(DriftStore, ModelStore, Protocol):
    """What the check reads: the windows and the registered versions."""


@dataclass(frozen=True)
class WindowCheck:
    """One version's check: its window's size and span, and the verdict."""

    model: str
    version: int
    rows: int
    first_ts: float
    last_ts: float
    report: DriftReport


def window_columns(rows: Sequence[DriftRow], reference: Reference) -> dict[str, list[Any]]:
    """The window's columns in time order, named as the reference names them."""
    if not rows:
        return {}
    layout = rows[-1].layout  # the model's inputs now; older rows of another shape are left out
    names = _names(columns_of(layout), list(reference.columns))
    values = [orjson.loads(r.data) for r in rows if r.layout == layout]
    return {name: [row[j] for row in values] for j, name in enumerate(names) if name}


def _names(live: list[str], reference: list[str]) -> list[str]:
    """Each live column's reference name ('' if it has none)."""
    known = set(reference)
    if any(name in known for name in live):
        return [name if name in known else "" for name in live]
    if len(live) == len(reference):  # one wide input: the training CSV's columns in order
        return list(reference)
    return [""] * len(live)


async def check_window(
    store: _Store, model: str, version: int, config: DriftMonitorConfig, now: float,
    rows_wanted: int | None = None, since: float | None = None,
) -> WindowCheck | None:  # fmt: skip
    """The version's latest window checked; None when it holds fewer than ``min_rows``.
    Raises ``NoReferenceSample`` when the version has no reference."""
    record = await store.model_version(model, version)
    if record is None:
        raise NoReferenceSample(f"{model}:{version} is not a registered version")
    reference = Reference.from_stored(record.training)
    start = now - config.window_s if since is None else since
    rows = await store.drift_window(model, version, start, rows_wanted or config.window_rows)
    if len(rows) < config.min_rows:
        return None
    columns = window_columns(rows, reference)
    report = await asyncio.to_thread(detect, reference, columns, config.alpha)
    return WindowCheck(model, version, len(rows), rows[0].ts, rows[-1].ts, report)


class DriftCheck:
    name = "drift"

    def __init__(
        self, config: DriftMonitorConfig, store: _Store, metrics: Metrics, report: Report | None
    ) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self.report = report
        self._last = 0.0
        self._unchecked: set[tuple[str, int]] = set()  # versions without a reference, logged
        self._task: asyncio.Task[None] | None = None

    def read(self, call: Call) -> None:
        return None  # the rows are the sampler's (keel.monitor.drift_windows)

    async def tick(self, now: float) -> None:
        if now - self._last < self.config.check_s:
            return
        if self._task is not None and not self._task.done():
            return  # the last check still runs: the tap keeps draining meanwhile
        self._last = now
        self._task = asyncio.create_task(self.check_all(now), name="keel-drift-check")

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def check_all(self, now: float) -> None:
        try:
            versions = await self.store.drift_versions(now - self.config.window_s)
        except Exception as exc:
            log.warning("drift: the store did not list the windows (%s); next check retries", exc)
            return
        for model, version in versions:
            try:
                await self._check(model, version, now)
            except Exception:
                log.exception("drift: the check of %s:%s failed", model, version)

    async def _check(self, model: str, version: int, now: float) -> None:
        if (model, version) in self._unchecked:
            return
        try:
            checked = await check_window(self.store, model, version, self.config, now)
        except NoReferenceSample as exc:
            self._unchecked.add((model, version))
            log.warning("drift: %s:%s is not checked: %s", model, version, exc)
            return
        if checked is None:
            return
        self._publish(checked)
        if self.report is not None:
            await self.report(finding(checked, self.config.alpha))

    def _publish(self, checked: WindowCheck) -> None:
        model, version = checked.model, str(checked.version)
        for feature, drift in checked.report.columns.items():
            self.metrics.drift_score.labels(model, version, feature).set(drift.score)
        self.metrics.drift_detected.labels(model, version).set(
            1 if checked.report.dataset_drift else 0
        )


def finding(checked: WindowCheck, alpha: float) -> Finding:
    """The drift finding of one check: which features moved, most first."""
    columns = checked.report.columns
    drifted = sorted((f for f in columns if columns[f].drift), key=lambda f: -columns[f].score)
    subject = f"{checked.model}:{checked.version}"
    top = max((c.score for c in columns.values()), default=0.0)
    if drifted:
        named = ", ".join(f"{f} (score {columns[f].score:.1f})" for f in drifted[:5])
        more = f" and {len(drifted) - 5} more" if len(drifted) > 5 else ""
        message = (
            f"{subject}: inputs drifted from the training reference in {len(drifted)} of "
            f"{len(columns)} features: {named}{more}, over the last {checked.rows} rows; "
            f"see keel drift report {subject}"
        )
    else:
        message = f"{subject}: no feature drifted over the last {checked.rows} rows"
    threshold = -math.log10(alpha)
    details = {f: round(c.score, 3) for f, c in columns.items() if c.drift}
    return Finding("drift", subject, checked.report.dataset_drift, message, top, threshold, details)
