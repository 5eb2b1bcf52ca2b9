"""The state layer's one contract: admit a request against every hold at once, settle it
after, and claim one-time keys. Backends: ``memory://`` (one process) and ``redis://``.

A request names its holds; the backend checks all of them and, only if every one has room,
takes them all, in one atomic step. Nothing is taken for a refused request.

    window  a sliding window of ``span_ms``: the weights admitted in the last ``span_ms``
            may not pass ``limit`` (requests: weight 1; tokens: the token count). An entry
            leaves the window exactly ``span_ms`` after it was admitted.
    slots   at most ``limit`` requests in flight; each holds its slot until settled, or
            until its lease of ``span_ms`` runs out (a replica that died mid-request).
    budget  spent + reserved + ``amount`` may not pass ``limit`` (nano-dollars). The amount
            is reserved until settled to the real cost, or until the lease of ``span_ms``
            runs out. ``expires_ms`` is the period's end: the refusal's retry time, and
            when the counter is dropped (a day after).

Amounts are integers (tokens, nano-dollars), so sums are exact on every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "NEVER",
    "UNLIMITED",
    "BackendUnavailable",
    "Hold",
    "LimitVerdict",
    "Settle",
    "StateBackend",
]

HoldKind = Literal["window", "slots", "budget"]

NEVER = -1  # retry_after_ms of a request that can never fit (it alone passes the limit)
UNLIMITED = 2**62  # the limit of a budget that only counts (soft budgets)
KEEP_DAYS_MS = 86_400_000  # counters outlive their period by a day (late settles, reports)


class BackendUnavailable(Exception):
    """The backend could not be reached or did not answer in time."""


@dataclass(frozen=True, slots=True)
class Hold:
    kind: HoldKind
    key: str
    limit: int
    amount: int
    span_ms: int  # window length, or lease
    expires_ms: int = 0  # budget: the period's end (Unix ms)


@dataclass(slots=True)
class LimitVerdict:
    """What ``admit`` decided. ``levels`` is, per hold, its use after admission (or, when
    refused, its use as found): the window's sum, the slots taken, a budget's spent plus
    reserved. ``spent`` is a budget's settled spend (0 for other holds)."""

    admitted: bool
    levels: list[int]
    spent: list[int]
    refused: int = -1  # the hold with the longest wait, when refused
    retry_after_ms: int = 0  # when the refused request would fit; NEVER if it cannot
    resets_ms: list[int] = field(default_factory=list)  # per window: ms until it is empty
    missing: list[int] = field(default_factory=list)  # budgets to seed first (see seed)


@dataclass(frozen=True, slots=True)
class Settle:
    """After the call: the real amount of one admitted hold (windows: tokens, replacing the
    admitted count; budgets: nano-dollars spent). Slots just free."""

    kind: HoldKind
    key: str
    amount: int = 0


class StateBackend(ABC):
    """Shared counters. Every call takes ``now_ms`` from the caller, so tests can drive the
    clock and every replica reads its own (keep them in step with NTP)."""

    url: str = ""

    async def start(self) -> None:
        """Connect (lazily: a backend that is down at start is an error per request)."""

    async def close(self) -> None:
        """Release connections."""

    @abstractmethod
    async def admit(self, holds: Sequence[Hold], token: str, now_ms: int) -> LimitVerdict:
        """Check every hold and take all of them, or none. ``token`` names this admission
        (settle passes it back). Budgets without a counter yet are listed in ``missing``
        and nothing is taken: seed them, then admit again."""

    @abstractmethod
    async def settle(self, settles: Sequence[Settle], token: str, now_ms: int) -> list[int]:
        """Give back what ``admit`` took beyond the real amounts. Returns, per settle, a
        budget's spend afterwards (-1 when its counter is gone; 0 for other kinds).

        ``now_ms`` is when the call's usage record was committed. A budget counter seeded
        from the records after that already holds the call's cost (the backend lost the
        counter and a settle waited for it to come back): then the cost is not added again."""

    @abstractmethod
    async def seed(self, key: str, spent: int, expires_ms: int, as_of_ms: int) -> None:
        """Start a budget's counter at ``spent`` (what the records held at ``as_of_ms``)
        unless another replica already has."""

    @abstractmethod
    async def once(self, key: str, ttl_ms: int, now_ms: int) -> bool:
        """True for the first caller to claim ``key`` (across replicas) until ``ttl_ms``."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise BackendUnavailable if the backend cannot be reached."""
