"""``keel monitor``: pin a logical model's reference window for the prompt embedding drift
monitor (keel.monitor.embeddings), list the pins, and show a model's latest check."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime

import orjson

from keel.commands.rollout import actor, model_spec
from keel.config.schema import KeelConfig
from keel.store import opened_store
from keel.store.embeddings import EmbeddingCheck, EmbeddingPin
from keel.table import render_table
from keel.timeparse import parse_ago

__all__ = ["episodes", "pin", "pins", "report"]

_FORMATS = ("table", "json")


async def pin(config: KeelConfig, model: str, since: str, until: str | None) -> str:
    """Store ``model``'s reference window; what was pinned, and how many vectors it holds."""
    model_spec(config, model)
    now = time.time()
    start, end = parse_ago(since, now), now if until is None else parse_ago(until, now)
    if start >= end:
        raise ValueError(f"--since ({_at(start)}) must come before --until ({_at(end)})")
    if end > now:
        raise ValueError("--until is in the future: a reference window must be behind us")
    settings = config.monitors.embeddings
    async with opened_store(config.store.url) as store:
        await store.add_embedding_pin(EmbeddingPin(model, start, end, now, actor()))
        held = await store.sample_prompt_vectors(model, start, end, settings.window, seed=0)
    count = f"{len(held)}+" if len(held) == settings.window else str(len(held))
    lines = [f"{model}: reference pinned to {_at(start)} .. {_at(end)} ({count} prompt vectors)"]
    if len(held) < settings.min_vectors:
        lines.append(
            f"a check needs {settings.min_vectors} vectors in the reference: pin a longer "
            "window, or raise monitors.embeddings.share (and per_minute)"
        )
    elif not settings.enabled or not config.monitors.enabled:
        lines.append("monitors.embeddings is off in this config: no gateway will check it")
    return "\n".join(lines)


async def pins(config: KeelConfig, fmt: str = "table") -> str:
    _format(fmt)
    async with opened_store(config.store.url) as store:
        stored = await store.embedding_pins()
    if fmt == "json":
        return orjson.dumps([asdict(p) for p in stored], option=orjson.OPT_INDENT_2).decode()
    if not stored:
        return "no pins (pin a reference window: keel monitor pin MODEL --since 7d)"
    rows = [["model", "since", "until", "pinned", "by"]]
    rows += [[p.model, _at(p.since), _at(p.until), _at(p.pinned_at), p.actor] for p in stored]
    return render_table(rows)


async def report(config: KeelConfig, model: str, fmt: str = "table") -> str:
    """The model's latest check, and its arms' checks made with it."""
    _format(fmt)
    model_spec(config, model)
    async with opened_store(config.store.url) as store:
        recent = await store.embedding_checks(model, limit=50)
    latest = [c for c in recent if recent and c.ts == recent[0].ts]
    if fmt == "json":
        return orjson.dumps([asdict(c) for c in latest], option=orjson.OPT_INDENT_2).decode()
    if not latest:
        return (
            f"{model}: no embedding drift check yet (pin a reference: keel monitor pin "
            f"{model} --since 7d; a gateway checks every "
            f"{config.monitors.embeddings.check_s:g}s once both windows hold "
            f"{config.monitors.embeddings.min_vectors} vectors)"
        )
    rows = [["subject", "verdict", "score", "p-value", "alpha", "n reference", "n current"]]
    rows += [_row(model, c) for c in sorted(latest, key=lambda c: c.arm)]
    return f"{model}: checked {_at(latest[0].ts)}\n" + render_table(rows, numeric_from=2)


async def episodes(config: KeelConfig, since: str, open_only: bool, fmt: str = "table") -> str:
    """The monitors' alert episodes (keel.monitor.episodes) open at ``since`` or later."""
    _format(fmt)
    start = parse_ago(since, time.time())
    async with opened_store(config.store.url) as store:
        found = await store.episodes(start, open_only=open_only)
    if fmt == "json":
        return orjson.dumps([asdict(e) for e in found], option=orjson.OPT_INDENT_2).decode()
    if not found:
        return "no episodes" + (" open" if open_only else f" since {_at(start)}")
    rows = [["kind", "subject", "started", "ended", "value", "threshold", "message"]]
    rows += [
        [e.kind, e.subject, _at(e.started_at), _at(e.resolved_at) if e.resolved_at else "open",
         f"{e.value:.4g}", f"{e.threshold:.4g}", e.message]
        for e in found
    ]  # fmt: skip
    return render_table(rows)


def _row(model: str, check: EmbeddingCheck) -> list[str]:
    return [
        f"{model}/{check.arm}" if check.arm else model,
        "DRIFT" if check.drift else "no drift",
        f"{check.score:.2f}",
        f"{check.p_value:.4f}",
        f"{check.alpha:g}",
        str(check.n_reference),
        str(check.n_current),
    ]


def _format(fmt: str) -> None:
    if fmt not in _FORMATS:
        raise ValueError(f"--format must be one of {', '.join(_FORMATS)}, not {fmt!r}")


def _at(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
