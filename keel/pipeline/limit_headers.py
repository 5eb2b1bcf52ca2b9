"""The headers an answer carries about its limits: OpenAI's ``x-ratelimit-*`` from the
tightest rpm and tpm windows, and ``x-keel-budget-remaining-usd`` from the tightest hard
budget."""

from __future__ import annotations

from collections.abc import Sequence

from keel.pipeline.admission import Check
from keel.pipeline.holds import NANO
from keel.state.base import UNLIMITED, Hold, LimitVerdict

__all__ = ["limit_headers"]


def limit_headers(
    verdict: LimitVerdict, holds: Sequence[Hold], checks: Sequence[Check]
) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers, from the tightest rpm and tpm windows, and what the
    tightest hard budget has left."""
    headers: dict[str, str] = {}
    best: dict[str, tuple[int, int, int]] = {}
    budget_left: int | None = None
    for i, (hold, check) in enumerate(zip(holds, checks, strict=True)):
        if not verdict.levels:
            break
        left = max(0, hold.limit - verdict.levels[i])
        if check.kind in ("rpm", "tpm"):
            unit = "requests" if check.kind == "rpm" else "tokens"
            reset = verdict.resets_ms[i] if i < len(verdict.resets_ms) else 0
            if unit not in best or left < best[unit][1]:
                best[unit] = (hold.limit, left, reset)
        elif check.kind == "budget" and hold.limit != UNLIMITED:
            budget_left = left if budget_left is None else min(budget_left, left)
    for unit, (limit, left, reset) in best.items():
        headers[f"x-ratelimit-limit-{unit}"] = str(limit)
        headers[f"x-ratelimit-remaining-{unit}"] = str(left)
        headers[f"x-ratelimit-reset-{unit}"] = _duration(reset)
    if budget_left is not None:
        headers["x-keel-budget-remaining-usd"] = f"{budget_left / NANO:.6f}"
    return headers


def _duration(ms: int) -> str:
    """OpenAI's form: 20ms, 1s, 6m0s."""
    if ms < 1000:
        return f"{ms}ms"
    seconds = -(-ms // 1000)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"
