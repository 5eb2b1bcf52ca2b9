"""What the admit stage takes for a call: one hold per budget and rate limit that applies
(keyed in the state backend by policy and subject), and what each gives back when the call is
over (a settle)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from keel.call import Principal
from keel.config.finops import BudgetConfig, RateLimitConfig
from keel.finops.periods import Period
from keel.pipeline.admission import Admission, Check
from keel.state.base import UNLIMITED, Hold, Settle

__all__ = [
    "NANO",
    "WINDOW_MS",
    "applying",
    "budget_hold",
    "limit_holds",
    "settles_of",
]

WINDOW_MS = 60_000
NANO = 1_000_000_000  # budgets count nano-dollars: integers, exact on every backend


P = TypeVar("P", BudgetConfig, RateLimitConfig)


def applying(policies: Sequence[P], principal: Principal, model: str) -> list[tuple[P, str]]:
    """The policies that hold a call of ``principal`` to ``model`` (a logical model, or a
    predictive model's name), each with its subject (the team, key, ...)."""
    found = []
    for policy in policies:
        subject = _subject(policy.scope, principal, model)
        if subject is not None and policy.match in ("*", subject):
            found.append((policy, subject))
    return found


def _subject(scope: str, principal: Principal, model: str) -> str | None:
    if scope == "team":
        return principal.team
    if scope == "key":
        return principal.key_id
    if scope == "project":
        return principal.project
    return model or None


def budget_hold(
    budget: BudgetConfig, subject: str, period: Period, prefix: str, worst: int, lease_ms: int
) -> tuple[Hold, Check]:
    """A hard budget reserves the call's worst case; a soft one takes nothing and only counts."""
    key = f"{prefix}:b:{budget.name}:{subject}:{int(period.start)}"
    is_hard = budget.mode == "hard"
    limit = round(budget.limit_usd * NANO) if is_hard else UNLIMITED
    amount = worst if is_hard else 0
    hold = Hold("budget", key, limit, amount, lease_ms, int(period.end * 1000))
    return hold, Check(budget, "budget", subject, period)


def limit_holds(
    limit: RateLimitConfig, subject: str, prefix: str, tokens: int, lease_ms: int
) -> Iterator[tuple[Hold, Check]]:
    """A request in the rpm window, ``tokens`` in the tpm window, a concurrency slot."""
    base = f"{prefix}:l:{limit.name}:{subject}"
    if limit.rpm is not None:
        yield Hold("window", base + ":rpm", limit.rpm, 1, WINDOW_MS), Check(limit, "rpm", subject)
    if limit.tpm is not None:
        yield (
            Hold("window", base + ":tpm", limit.tpm, tokens, WINDOW_MS),
            Check(limit, "tpm", subject),
        )
    if limit.concurrency is not None:
        yield (
            Hold("slots", base + ":cc", limit.concurrency, 1, lease_ms),
            Check(limit, "concurrency", subject),
        )


def settles_of(admission: Admission, tokens: int, cost_nano: int) -> list[Settle]:
    """The tpm windows corrected to the real token count, the slots freed, the budgets settled
    to the real cost (an rpm window keeps its request)."""
    settles: list[Settle] = []
    for hold, check in zip(admission.holds, admission.checks, strict=True):
        if check.kind == "tpm":
            settles.append(Settle("window", hold.key, tokens))
        elif check.kind == "concurrency":
            settles.append(Settle("slots", hold.key))
        elif check.kind == "budget":
            settles.append(Settle("budget", hold.key, cost_nano))
    return settles
