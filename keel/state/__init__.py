"""Shared state: the counters that budgets and rate limits are checked against. The URL
scheme picks the backend: ``memory://`` (one process) or ``redis://`` (every replica)."""

from __future__ import annotations

from keel.config.finops import StateConfig
from keel.state.base import BackendUnavailable, Hold, LimitVerdict, Settle, StateBackend

__all__ = ["BackendUnavailable", "Hold", "LimitVerdict", "Settle", "StateBackend", "open_state"]


def open_state(config: StateConfig) -> StateBackend:
    if config.url.startswith("memory://"):
        from keel.state.memory import MemoryState

        return MemoryState(config.url)
    from keel.state.redis import RedisState

    return RedisState(config)
