"""``memory://``: the state of one process. Each operation runs without awaiting, so on one
event loop it is atomic, as a Redis script is across replicas."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from keel.state.base import KEEP_DAYS_MS, NEVER, Hold, LimitVerdict, Settle, StateBackend

__all__ = ["MemoryState"]

_SWEEP_EVERY = 4096  # admissions between sweeps of counters that expired


@dataclass(slots=True)
class _Window:
    entries: OrderedDict[str, list[int]] = field(default_factory=OrderedDict)  # token: [ts, w]
    total: int = 0

    def expire(self, cutoff: int) -> None:
        entries = self.entries
        while entries:
            token, (ts, weight) = next(iter(entries.items()))
            if ts > cutoff:
                return
            del entries[token]
            self.total -= weight

    def wait_ms(self, need: int, span_ms: int, now_ms: int) -> int:
        """How long until ``need`` more fits: the oldest entries leave first."""
        freed = 0
        for ts, weight in self.entries.values():
            freed += weight
            if freed >= need:
                return ts + span_ms - now_ms
        return span_ms

    def reset_ms(self, span_ms: int, now_ms: int) -> int:
        if not self.entries:
            return 0
        newest = next(reversed(self.entries.values()))[0]
        return max(0, newest + span_ms - now_ms)


@dataclass(slots=True)
class _Budget:
    spent: int
    expires_ms: int
    seeded_ms: int = 0  # the records this counter started from were read at this time
    reserved: int = 0
    holds: dict[str, tuple[int, int]] = field(default_factory=dict)  # token: (amount, until)

    def expire(self, now_ms: int) -> None:
        if not self.holds:
            return
        for token, (amount, until) in list(self.holds.items()):
            if until <= now_ms:
                del self.holds[token]
                self.reserved -= amount


class MemoryState(StateBackend):
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.windows: dict[str, _Window] = {}
        self.slots: dict[str, dict[str, int]] = {}  # key: {token: lease end}
        self.budgets: dict[str, _Budget] = {}
        self.claimed: dict[str, int] = {}  # once: key -> until
        self._admissions = 0

    async def ping(self) -> None:
        return None

    async def admit(self, holds: Sequence[Hold], token: str, now_ms: int) -> LimitVerdict:
        self._admissions += 1
        if self._admissions % _SWEEP_EVERY == 0:
            self._sweep(now_ms)
        budgets = self.budgets
        missing = [i for i, h in enumerate(holds) if h.kind == "budget" and h.key not in budgets]
        if missing:
            return LimitVerdict(False, [], [], missing=missing)
        levels: list[int] = []
        spent: list[int] = []
        waits: list[int] = []
        for hold in holds:
            level, wait, spend = self._check(hold, now_ms)
            levels.append(level)
            spent.append(spend)
            waits.append(wait)
        refused = _longest(waits)
        resets = [self._reset(h, now_ms) for h in holds]
        if refused >= 0:
            return LimitVerdict(False, levels, spent, refused, waits[refused], resets)
        for i, hold in enumerate(holds):
            levels[i] += self._take(hold, token, now_ms)
            if hold.kind == "window":
                resets[i] = hold.span_ms
        return LimitVerdict(True, levels, spent, resets_ms=resets)

    def _check(self, hold: Hold, now_ms: int) -> tuple[int, int, int]:
        """(use now, wait in ms or 0 if it fits, budget spent)."""
        if hold.kind == "window":
            window = self.windows.get(hold.key)
            if window is None:
                return 0, (NEVER if hold.amount > hold.limit else 0), 0
            window.expire(now_ms - hold.span_ms)
            need = window.total + hold.amount - hold.limit
            if need <= 0:
                return window.total, 0, 0
            if hold.amount > hold.limit:
                return window.total, NEVER, 0
            wait = window.wait_ms(need, hold.span_ms, now_ms)
            return window.total, min(hold.span_ms, max(1, wait)), 0
        if hold.kind == "slots":
            leases = self.slots.get(hold.key)
            if not leases:
                return 0, 0, 0
            for token, until in list(leases.items()):
                if until <= now_ms:
                    del leases[token]
            if len(leases) + hold.amount <= hold.limit:
                return len(leases), 0, 0
            # When one finishes is not known ahead; a second is the polite wait.
            return len(leases), 1000, 0
        budget = self.budgets[hold.key]
        budget.expire(now_ms)
        use = budget.spent + budget.reserved
        if use + hold.amount <= hold.limit:
            return use, 0, budget.spent
        if hold.amount > hold.limit:
            return use, NEVER, budget.spent
        return use, max(1, hold.expires_ms - now_ms), budget.spent

    def _take(self, hold: Hold, token: str, now_ms: int) -> int:
        if hold.kind == "window":
            window = self.windows.setdefault(hold.key, _Window())
            window.entries[token] = [now_ms, hold.amount]
            window.total += hold.amount
            return hold.amount
        if hold.kind == "slots":
            self.slots.setdefault(hold.key, {})[token] = now_ms + hold.span_ms
            return 1
        budget = self.budgets[hold.key]
        if hold.amount:
            budget.holds[token] = (hold.amount, now_ms + hold.span_ms)
            budget.reserved += hold.amount
        return hold.amount

    def _reset(self, hold: Hold, now_ms: int) -> int:
        window = self.windows.get(hold.key) if hold.kind == "window" else None
        return window.reset_ms(hold.span_ms, now_ms) if window is not None else 0

    async def settle(self, settles: Sequence[Settle], token: str, now_ms: int) -> list[int]:
        out: list[int] = []
        for item in settles:
            if item.kind == "window":
                window = self.windows.get(item.key)
                entry = window.entries.get(token) if window is not None else None
                if window is not None and entry is not None:
                    window.total += item.amount - entry[1]
                    entry[1] = item.amount
                out.append(0)
            elif item.kind == "slots":
                leases = self.slots.get(item.key)
                if leases is not None:
                    leases.pop(token, None)
                out.append(0)
            else:
                budget = self.budgets.get(item.key)
                if budget is None:  # gone: the next admission seeds it from the records
                    out.append(-1)
                    continue
                held = budget.holds.pop(token, None)
                if held is not None:
                    budget.reserved -= held[0]
                if now_ms >= budget.seeded_ms:  # else the seed already counted it
                    budget.spent += item.amount
                out.append(budget.spent)
        return out

    async def seed(self, key: str, spent: int, expires_ms: int, as_of_ms: int) -> None:
        if key not in self.budgets:
            self.budgets[key] = _Budget(spent, expires_ms + KEEP_DAYS_MS, as_of_ms)

    async def once(self, key: str, ttl_ms: int, now_ms: int) -> bool:
        until = self.claimed.get(key)
        if until is not None and until > now_ms:
            return False
        self.claimed[key] = now_ms + ttl_ms
        return True

    def _sweep(self, now_ms: int) -> None:
        self.budgets = {k: b for k, b in self.budgets.items() if b.expires_ms > now_ms}
        for key, window in list(self.windows.items()):
            if not window.entries:
                del self.windows[key]
        self.slots = {k: v for k, v in self.slots.items() if v}
        self.claimed = {k: t for k, t in self.claimed.items() if t > now_ms}


def _longest(waits: list[int]) -> int:
    """The refusing hold to report: one that can never fit, else the longest wait."""
    refused, longest = -1, 0
    for i, wait in enumerate(waits):
        if wait == NEVER:
            return i
        if wait > longest:
            refused, longest = i, wait
    return refused
