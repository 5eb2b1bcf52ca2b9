"""``keel models labels`` and ``keel quality report``: delayed labels loaded from a CSV file
into the store, and quality per model version over time.

Labels are written to the configured store directly (no gateway needed). A CSV has a header
with ``request_id`` and ``label`` (and ``row``: the row's index in the call's batch, 0 when
left out). Each line is checked: its request id must be a call to the model (by any team: the
store's holder is an admin); a bad line is reported with its line number and the good lines are
kept. The report joins labels to the prediction log (keel.store.quality) and scores each
version (keel.monitor.quality_metrics) per day or ISO week; for an LLM model it counts the
feedback outcomes (POST /v1/feedback) per deployment and rollout arm.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keel.config.schema import KeelConfig
from keel.monitor.quality import held_out_accuracy, numeric
from keel.monitor.quality_metrics import Scores, score
from keel.store import opened_store
from keel.store.base import Store
from keel.store.quality import LabelRecord, check_label
from keel.store.rollouts import RolloutState
from keel.timeparse import parse_ago

__all__ = ["LabelsLoaded", "load_labels", "quality_report", "render_report"]

BATCH = 1000


@dataclass(frozen=True, slots=True)
class LabelsLoaded:
    recorded: int
    refused: list[str]  # "line 7: ..." each


async def load_labels(config: KeelConfig, model: str, path: Path) -> LabelsLoaded:
    """Check every line of the CSV, store the good ones in batches."""
    lines = _read_csv(path)
    async with opened_store(config.store.url) as store:
        if not await store.model_versions(model):
            raise ValueError(f"no model named {model!r} is registered (keel models list)")
        recorded, refused = 0, [f"line {n}: {e}" for n, e in lines if isinstance(e, str)]
        good = [(n, e) for n, e in lines if not isinstance(e, str)]
        for start in range(0, len(good), BATCH):
            batch = good[start : start + BATCH]
            owners = await store.call_owners([rid for _, (rid, _, _) in batch])
            records = []
            for number, (rid, label, row) in batch:
                owner = owners.get(rid)
                if owner is None or (owner.model or "").partition("@")[0] != model:
                    refused.append(f"line {number}: no call to {model!r} has the id {rid!r}")
                    continue
                records.append(LabelRecord(time.time(), rid, row, label, model, owner.team,
                                           None, "csv"))  # fmt: skip
            recorded += await store.add_labels(records)
    refused.sort(key=lambda text: int(text.split(":")[0].split()[1]))
    return LabelsLoaded(recorded, refused)


def _read_csv(path: Path) -> list[tuple[int, tuple[str, str, int] | str]]:
    """(line number, the checked label or what is wrong with it) per data line."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = {"request_id", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path}: the header must name request_id and label (and row, optional); "
                f"missing: {', '.join(sorted(missing))}"
            )
        out: list[tuple[int, tuple[str, str, int] | str]] = []
        for entry in reader:
            number = reader.line_num
            try:
                out.append((number, check_label(entry.get("request_id"), entry.get("label"),
                                                entry.get("row") or 0)))  # fmt: skip
            except ValueError as exc:
                out.append((number, str(exc)))
    return out


async def quality_report(config: KeelConfig, model: str, by: str, since: str) -> dict[str, Any]:
    """Per version (and kind) and period, the scores of a predictive model's labelled rows; for
    an LLM model, feedback outcomes per deployment and arm."""
    if by not in ("day", "week"):
        raise ValueError(f"--by must be day or week, not {by!r}")
    start = parse_ago(since)
    async with opened_store(config.store.url) as store:
        versions = {v.version: v for v in await store.model_versions(model)}
        if not versions and model not in config.models:
            raise ValueError(f"{model!r} is neither a registered model nor one in models:")
        report: dict[str, Any] = {"model": model, "since": start, "by": by}
        if versions:
            report["versions"] = await _predictive(store, model, versions, start, by)
        if model in config.models:
            report["feedback"] = await _feedback(store, config, model, start, by)
    return report


async def _predictive(
    store: Store, model: str, versions: dict[int, Any], start: float, by: str
) -> list[dict[str, Any]]:
    groups: dict[tuple[int, str, str], list[tuple[str | None, str, Sequence[float]]]]
    groups = defaultdict(list)
    for r in await store.labelled(model, start):
        groups[(r.version, r.kind, _period(r.ts, by))].append(
            (r.predicted, r.label, r.probabilities or ())
        )
    return [
        {"version": v, "kind": kind, "period": period,
         "held_out_accuracy": held_out_accuracy(versions.get(v)), **_scores(score(rows))}
        for (v, kind, period), rows in sorted(groups.items())
    ]  # fmt: skip


def _scores(s: Scores) -> dict[str, Any]:
    return {
        "labels": s.labelled, "accuracy": s.accuracy, "macro_precision": s.macro_precision,
        "macro_recall": s.macro_recall, "ece": s.ece, "brier": s.brier,
        "classes": {c: {"precision": x.precision, "recall": x.recall, "support": x.support}
                    for c, x in s.classes.items()},
    }  # fmt: skip


async def _feedback(
    store: Store, config: KeelConfig, model: str, start: float, by: str
) -> list[dict[str, Any]]:
    stored = {s.model: s for s in await store.rollouts()}
    state = stored.get(model)
    rollout = config.models[model].rollout
    if state is None and rollout is not None:
        state = RolloutState(model, rollout.mode, rollout.canary, rollout.percent)
    groups: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for f in await store.feedback_joined(model, start):
        groups[(f.deployment or "-", _period(f.ts, by))][f.outcome] += 1
    rows = []
    for (deployment, period), outcomes in sorted(groups.items()):
        values = [numeric(o) for o in outcomes.elements()]
        scored = [v for v in values if v is not None]
        rows.append({
            "deployment": deployment, "arm": _arm(state, deployment), "period": period,
            "feedback": sum(outcomes.values()), "outcomes": dict(outcomes.most_common()),
            "mean_score": sum(scored) / len(scored) if scored else None,
        })  # fmt: skip
    return rows


def _arm(state: RolloutState | None, deployment: str) -> str:
    """The arm of the model's current rollout the deployment is in (``-`` without one)."""
    if state is None or state.status != "active":
        return "-"
    if state.mode == "canary":
        return "canary" if deployment == state.canary else "baseline"
    return deployment if deployment in state.weights else "-"


def _period(ts: float, by: str) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    if by == "day":
        return moment.strftime("%Y-%m-%d")
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def render_report(report: dict[str, Any]) -> str:
    from keel.table import render_table

    parts: list[str] = []
    versions = report.get("versions")
    if versions is not None:
        head = ["version", "kind", report["by"], "labels", "accuracy", "precision", "recall",
                "ECE", "Brier", "held-out"]  # fmt: skip
        body = [[str(r["version"]), r["kind"], r["period"], str(r["labels"]), _pct(r["accuracy"]),
                 _pct(r["macro_precision"]), _pct(r["macro_recall"]), _num(r["ece"]),
                 _num(r["brier"]), _pct(r["held_out_accuracy"])] for r in versions]  # fmt: skip
        parts.append(render_table([head, *body], 3) if body else
                     f"{report['model']}: no labelled predictions since then")  # fmt: skip
    feedback = report.get("feedback")
    if feedback is not None:
        head = ["deployment", "arm", report["by"], "feedback", "mean score", "outcomes"]
        body = [[r["deployment"], r["arm"], r["period"], str(r["feedback"]), _num(r["mean_score"]),
                 ", ".join(f"{o} {n}" for o, n in r["outcomes"].items())]
                for r in feedback]  # fmt: skip
        parts.append(render_table([head, *body], 3) if body else
                     f"{report['model']}: no feedback since then")  # fmt: skip
    return "\n\n".join(parts)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
