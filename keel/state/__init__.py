"""Shared state: the counters that budgets and rate limits are checked against. The URL
scheme picks the backend: ``memory://`` (one process) or ``redis://`` (every replica)."""

from __future__ import annotations

from keel.config.finops import StateConfig
from keel.state.base import Hold, Settle, State, StateUnavailable, Verdict

__all__ = ["Hold", "Settle", "State", "StateUnavailable", "Verdict", "open_state"]


def open_state(config: StateConfig) -> State:
    if config.url.startswith("memory://"):
        from keel.state.memory import MemoryState

        return MemoryState(config.url)
    from keel.state.redis import RedisState

    return RedisState(config)
