"""What a monitor finds when it checks a window: a ``Finding``, reported every check, active
or not, to ``Report`` (keel.monitor.episodes turns the reports into alert episodes: one
alert when a condition starts, one resolve message when it ends, over every replica)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Finding", "Report"]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # drift | embedding_drift | quality | latency | errors
    subject: str  # what it is about: "fraud:3" (a model version), "gpt-4o", "gpt-4o/canary"
    active: bool  # the condition holds on this check
    message: str  # one sentence for a human: what changed, by how much, what to look at
    value: float  # the measured number (a drift score, an accuracy, a p99 in ms)
    threshold: float  # where the condition starts
    details: dict[str, Any] = field(default_factory=dict)  # e.g. per-feature scores


Report = Callable[[Finding], Awaitable[None]]
