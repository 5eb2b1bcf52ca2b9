"""When to stop asking the state backend: after a run of failures, not after one.

One slow answer (a starved event loop, a burst of new connections) says little about Redis;
five failures in a row with no success between them do. While the circuit is open, calls fail
at once instead of each waiting out a timeout. After ``open_s`` one call goes through as a
probe (half-open): its success closes the circuit, its failure opens it again.

    closed --(failures_to_open failures in a row)--> open --(open_s)--> half-open
    half-open --(the probe succeeds)--> closed;  half-open --(the probe fails)--> open
"""

from __future__ import annotations

import time
from collections.abc import Callable

from keel.state.base import BackendUnavailable

__all__ = ["Circuit"]


class Circuit:
    def __init__(
        self,
        failures_to_open: int = 5,
        open_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = failures_to_open
        self.open_s = open_s
        self.clock = clock
        self.failures = 0  # in a row, since the last success
        self.last_error = ""
        self._open_until: float | None = None  # None: closed
        self._probing = False

    @property
    def state(self) -> str:
        if self._open_until is None:
            return "closed"
        return "half-open" if self._probing or self.clock() >= self._open_until else "open"

    def check(self) -> None:
        """Let a call through, or raise BackendUnavailable at once while the circuit is open
        (and while a half-open probe is out)."""
        if self._open_until is None:
            return
        if not self._probing and self.clock() >= self._open_until:
            self._probing = True  # this call is the probe
            return
        wait = max(0.0, self._open_until - self.clock())
        raise BackendUnavailable(
            f"marked down after {self.failures} failures in a row (last: {self.last_error}); "
            + (f"trying it again in {wait:.1f} s" if wait else "a probe is under way")
        )

    def succeeded(self) -> None:
        self.failures, self._open_until, self._probing = 0, None, False

    def failed(self, error: str) -> None:
        self.failures += 1
        self.last_error = error
        if self._probing or self.failures >= self.failures_to_open:
            self._open_until = self.clock() + self.open_s
            self._probing = False

    def passed(self) -> None:
        """The call neither proved nor disproved the backend (keel itself was too busy to
        send it): a probe that did not happen frees the way for the next one."""
        self._probing = False
