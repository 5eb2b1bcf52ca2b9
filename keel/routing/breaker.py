"""A circuit breaker per deployment: stop sending traffic to one that keeps failing.

Closed: traffic flows; failures are counted over a sliding window. ``failures`` of them within
``window_s`` open it. Open: the deployment is skipped. After ``cooldown_s`` one request is let
through (half-open): its success closes the breaker, its failure opens it again.

An active health probe (keel.routing.health) can also ``trip`` it: then it is held open, with
no half-open request either, until the probe sees the deployment healthy and ``reset``s it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

from keel.config.schema import BreakerConfig

__all__ = ["Breaker", "BreakerState"]


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    def __init__(self, config: BreakerConfig) -> None:
        self.config = config
        self.state = BreakerState.CLOSED
        self.held = False  # tripped by an active probe: open whatever the requests say
        self.opened_at = 0.0
        #: Called with ``up`` whenever it changes (set by whoever shows it, e.g. a gauge).
        self.on_change: Callable[[bool], None] | None = None
        self._failures: deque[float] = deque()
        self._probing = False
        self._probe_at = 0.0

    @property
    def up(self) -> bool:
        """Does this deployment get traffic now (not resting, not held down)?"""
        return self.state is BreakerState.CLOSED and not self.held

    def allow(self, now: float | None = None) -> bool:
        """May a request go to this deployment now? Takes the probe slot when half-open."""
        if self.held:
            return False
        if not self.config.enabled or self.state is BreakerState.CLOSED:
            return True
        now = time.monotonic() if now is None else now
        if self.state is BreakerState.OPEN and now - self.opened_at >= self.config.cooldown_s:
            self._move(BreakerState.HALF_OPEN)
            self._probing = False
        # A probe whose caller went away never reports back: after a cooldown, probe again.
        stale = now - self._probe_at >= self.config.cooldown_s
        if self.state is BreakerState.HALF_OPEN and (not self._probing or stale):
            self._probing = True
            self._probe_at = now
            return True
        return False

    def retry_after_s(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        return max(0.0, self.opened_at + self.config.cooldown_s - now)

    def success(self) -> None:
        if self.held:
            return  # a request sent before the probe said down: the probe decides
        if self.state is not BreakerState.CLOSED:  # the hot path: every good answer comes here
            self._move(BreakerState.CLOSED)
        self._failures.clear()
        self._probing = False

    def failure(self, now: float | None = None) -> None:
        if not self.config.enabled or self.held:
            return
        now = time.monotonic() if now is None else now
        if self.state is BreakerState.HALF_OPEN:
            self._open(now)
            return
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self.config.window_s:
            self._failures.popleft()
        if len(self._failures) >= self.config.failures:
            self._open(now)

    def trip(self, now: float | None = None) -> None:
        """Hold it open until ``reset``: the deployment is known to be down."""
        was = self.up
        self.held = True
        self._open(time.monotonic() if now is None else now)
        self._changed(was)

    def reset(self) -> None:
        """Release a hold and close: the deployment is known to be up, traffic may go at once."""
        was = self.up
        self.held = False
        self.state = BreakerState.CLOSED
        self._failures.clear()
        self._probing = False
        self._changed(was)

    def _open(self, now: float) -> None:
        self._move(BreakerState.OPEN)
        self.opened_at = now
        self._failures.clear()
        self._probing = False

    def _move(self, state: BreakerState) -> None:
        was = self.up
        self.state = state
        self._changed(was)

    def _changed(self, was: bool) -> None:
        if self.on_change is not None and self.up is not was:
            self.on_change(self.up)
