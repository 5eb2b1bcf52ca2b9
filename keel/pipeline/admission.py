"""What the admit stage takes for a call (budget and limit holds), kept on the call until its
``after`` gives it back. Apart from the stage so that ``Call`` can name the type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keel.config.finops import BudgetConfig, RateLimitConfig
from keel.finops.periods import Period
from keel.state.base import Hold

__all__ = ["Admission", "Check"]


@dataclass(frozen=True, slots=True)
class Check:
    """What one hold is for: the policy, what it counts, whom it is about."""

    policy: BudgetConfig | RateLimitConfig
    kind: str  # budget | rpm | tpm | concurrency
    subject: str
    period: Period | None = None


@dataclass(slots=True)
class Admission:
    """What a call took, to give back when it is over."""

    token: str
    holds: Sequence[Hold]
    checks: Sequence[Check]
