"""``keel rollout status``: each rollout's live split, its latest events, and how every
deployment of the model did since the last change, from the usage records.

The numbers are per attempt, as the gateways judge a canary: a failed attempt is an error even
when a failover answered the client, and the p95 is over successful attempts' durations.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from keel.commands.rollout import Effective, effective, model_spec, summary
from keel.config.schema import KeelConfig
from keel.routing.split import baseline_of, describe
from keel.store import opened_store
from keel.store.base import Store
from keel.store.rollouts import RolloutEvent, RolloutState
from keel.table import render_table

__all__ = ["DeploymentStats", "deployment_stats", "status"]

CALLS = 100_000  # latest calls read for the numbers
EVENTS = 5
NO_CHANGE_WINDOW_S = 86_400.0  # a split still as the config set it: the last day's numbers
_NOT_TRIED = {"overloaded", "circuit_open"}
_FORMATS = ("table", "json")


@dataclass(frozen=True, slots=True)
class DeploymentStats:
    deployment: str
    role: str
    share: float  # percent of callers it goes first for
    attempts: int
    errors: int
    error_rate: float
    p95_ms: float | None


async def status(config: KeelConfig, model: str | None, fmt: str) -> str:
    if fmt not in _FORMATS:
        raise ValueError(f"--format must be one of {', '.join(_FORMATS)}, not {fmt!r}")
    if model is not None:
        model_spec(config, model)  # an unknown model is refused before the store is opened
    async with opened_store(config.store.url) as store:
        stored = {s.model for s in await store.rollouts()}
        names = [model] if model else [
            m for m, spec in config.models.items() if spec.rollout is not None or m in stored
        ]  # fmt: skip
        reports = [await _report(store, config, name) for name in names]
    if fmt == "json":
        return orjson.dumps(reports, option=orjson.OPT_INDENT_2).decode()
    if not reports:
        return "no rollouts (start one: keel rollout set MODEL --canary DEPLOYMENT --percent N)"
    return "\n\n".join(_render(config, r) for r in reports)


async def _report(store: Store, config: KeelConfig, model: str) -> dict[str, Any]:
    now = time.time()
    found = await effective(store, config, model)
    changed = found.state is not None and found.source == "store"
    since = found.state.updated_at if found.state and changed else now - NO_CHANGE_WINDOW_S
    calls = await store.call_attempts(model, since, CALLS)
    deployments = config.models[model].deployments
    events = await store.rollout_events(model, EVENTS)
    return {
        "model": model,
        "source": found.source,
        "split": found.state.as_dict() if found.state else None,
        "ignored": found.problem,
        "since": since,
        "calls": len(calls),
        "deployments": [asdict(s) for s in deployment_stats(calls, deployments, found)],
        "events": [asdict(e) for e in events],
    }


def deployment_stats(
    calls: list[list[dict[str, Any]]], deployments: list[str], found: Effective
) -> list[DeploymentStats]:
    """Attempts, errors and the p95 of successful attempts, per deployment of the model."""
    counts = {d: [0, 0] for d in deployments}
    durations: dict[str, list[float]] = {d: [] for d in deployments}
    for attempts in calls:
        for attempt in attempts:
            name, error = attempt.get("deployment"), attempt.get("error")
            if name not in counts or error in _NOT_TRIED:
                continue
            counts[name][0] += 1
            if error is None:
                durations[name].append(float(attempt.get("ms", 0.0)))
            else:
                counts[name][1] += 1
    roles = _roles(found.state, deployments)
    return [
        DeploymentStats(d, *roles.get(d, ("failover", 0.0)), counts[d][0], counts[d][1],
                        counts[d][1] / counts[d][0] if counts[d][0] else 0.0, _p95(durations[d]))
        for d in deployments
    ]  # fmt: skip


def _roles(state: RolloutState | None, deployments: list[str]) -> dict[str, tuple[str, float]]:
    if state is None:
        return {}
    if state.mode == "canary" and state.canary is not None:
        baseline = baseline_of(state, deployments) or ""
        return {
            state.canary: ("canary", state.percent),
            baseline: ("baseline", 100 - state.percent),
        }
    total = sum(state.weights.values()) or 1.0
    return {d: ("A/B", 100 * w / total) for d, w in state.weights.items()}


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    values.sort()
    return values[math.ceil(0.95 * len(values)) - 1]


def _render(config: KeelConfig, report: dict[str, Any]) -> str:
    model = report["model"]
    spec = config.models[model]
    split = report["split"]
    if split is None:
        return f"{model}: no rollout (start one: keel rollout set {model} --canary DEP --percent N)"
    state = RolloutState(**split)
    lines = [f"{model}: {summary(state, spec)}"]
    if report["source"] == "store":
        lines.append(
            f"  from the store, version {state.version}, changed {_when(state.updated_at)}"
        )
    else:
        lines.append("  from keel.yaml (never changed with keel rollout)")
    if report["ignored"]:
        lines.append(f"  IGNORED by gateways, which use keel.yaml's split: {report['ignored']}")
    lines.append(f"  since {_when(report['since'])}: {report['calls']} calls")
    rows: list[tuple[str, ...]] = [
        ("deployment", "role", "share", "attempts", "errors", "error rate", "p95 ms")
    ]
    for s in (DeploymentStats(**d) for d in report["deployments"]):
        p95 = f"{s.p95_ms:.1f}" if s.p95_ms is not None else "-"
        rows.append((s.deployment, s.role, f"{s.share:g}%", str(s.attempts), str(s.errors),
                     f"{s.error_rate:.1%}", p95))  # fmt: skip
    lines += ["  " + line for line in render_table(rows, numeric_from=2).splitlines()]
    events = [RolloutEvent(**e) for e in report["events"]]
    lines.append("  events:" if events else "  events: none")
    lines += [f"    {_event_line(e, spec.deployments)}" for e in events]
    return "\n".join(lines)


def _event_line(event: RolloutEvent, deployments: list[str]) -> str:
    def words(split: dict[str, Any] | None) -> str:
        if split is None:
            return "none"
        state = RolloutState(**split)
        done = "" if state.status == "active" else f", {state.status.replace('_', ' ')}"
        return describe(state, deployments) + done

    line = f"{_when(event.ts)}  {event.action}  by {event.actor}: "
    line += f"{words(event.before)} -> {words(event.after)}"
    return line + (f" ({event.reason})" if event.reason else "")


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
