"""The words of a refusal: which budget or rate limit refused a call, by how much, and what to
do next; and the refusal when the state backend cannot check a policy that fails closed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from keel.config.finops import BudgetConfig, RateLimitConfig
from keel.errors import BudgetExceeded, RateLimited, StateUnavailable
from keel.pipeline.admission import Check
from keel.pipeline.holds import NANO, WINDOW_MS
from keel.state.base import NEVER, BackendUnavailable, Hold, LimitVerdict

__all__ = ["refusal", "unchecked"]

_ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}


def refusal(
    verdict: LimitVerdict,
    hold: Hold,
    check: Check,
    now: float,
    worst: int,
    rows: bool = False,
    cap: str = "max_tokens",
) -> BudgetExceeded | RateLimited:
    """Why ``hold`` (the one ``verdict`` refused) refused the call; ``worst`` is its worst case.
    ``rows``: a prediction, whose cost a client lowers by asking fewer rows; ``cap``: the
    field that caps the completion in the client's protocol."""
    if check.kind == "budget":
        return _budget_refusal(verdict, check, now, worst, "fewer rows" if rows else cap)
    return _rate_refusal(verdict, hold, check, cap)


def _budget_refusal(
    verdict: LimitVerdict, check: Check, now: float, worst: int, cap: str
) -> BudgetExceeded:
    i, wait = verdict.refused, verdict.retry_after_ms
    policy = check.policy
    assert isinstance(policy, BudgetConfig) and check.period is not None
    spent, used = verdict.spent[i], verdict.levels[i]
    who = f"{policy.scope} {check.subject}"
    if wait == NEVER:
        lower = cap if cap == "fewer rows" else f"a lower {cap} or a shorter prompt"
        return BudgetExceeded(
            f"This request could cost up to ${worst / NANO:.6f}, more than the whole "
            f"{_ADJECTIVE[policy.period]} budget '{policy.name}' of {who} "
            f"(${policy.limit_usd:.2f}). Send {lower}.",
            retry_after_ms=int((check.period.end - now) * 1000),
        )
    resets = datetime.fromtimestamp(check.period.end, ZoneInfo(policy.timezone))
    lower = cap if cap == "fewer rows" else f"a lower {cap}"
    return BudgetExceeded(
        f"The {_ADJECTIVE[policy.period]} budget '{policy.name}' of {who} is used up for "
        f"{check.period.label}: ${spent / NANO:.4f} spent and "
        f"${(used - spent) / NANO:.4f} reserved by requests in flight, of "
        f"${policy.limit_usd:.2f}; this request could cost up to ${worst / NANO:.6f}. "
        f"It resets at {resets.isoformat()} (retry-after). To go on sooner, raise "
        f"limit_usd in keel.yaml or send {lower}.",
        retry_after_ms=wait,
    )


def _rate_refusal(verdict: LimitVerdict, hold: Hold, check: Check, cap: str) -> RateLimited:
    i, wait = verdict.refused, verdict.retry_after_ms
    seconds = max(1, -(-wait // 1000))
    who = f"{check.policy.scope} {check.subject}"
    if check.kind == "concurrency":
        message = (
            f"Rate limit '{check.policy.name}': {hold.limit} requests of {who} are already "
            "in flight. Retry when one finishes."
        )
        return RateLimited(message, retry_after_ms=wait)
    unit = "requests" if check.kind == "rpm" else "tokens"
    if wait == NEVER:
        return RateLimited(
            f"Rate limit '{check.policy.name}': this request counts {hold.amount} tokens "
            f"(its prompt, estimated, plus {cap}), more than the {hold.limit} tokens "
            f"per minute {who} may use. Send a shorter prompt or a lower {cap}.",
            retry_after_ms=WINDOW_MS,
            retry=False,
            code="tokens_exceed_limit",
        )
    return RateLimited(
        f"Rate limit '{check.policy.name}' reached: {who} may use {hold.limit} {unit} per "
        f"minute and has used {verdict.levels[i]}. Retry in {seconds}s (retry-after).",
        retry_after_ms=wait,
    )


def unchecked(
    checks: Sequence[Check], state_url: str, exc: BackendUnavailable
) -> StateUnavailable | None:
    """The refusal when the state backend could not check the call's holds, or None when
    every policy among them fails open."""
    closed = [c for c in checks if not _fails_open(c.policy)]
    if not closed:
        return None
    names = ", ".join(sorted({f"{_what(c)} '{c.policy.name}'" for c in closed}))
    return StateUnavailable(
        f"keel cannot check {names} because its state backend ({state_url}) is {exc}, "
        "and the policy is fail_closed. Retry shortly; if it persists, "
        "check the state backend, or set on_state_error: fail_open on the policy."
    )


def _fails_open(policy: BudgetConfig | RateLimitConfig) -> bool:
    if isinstance(policy, BudgetConfig):
        return policy.fails_open
    return policy.on_state_error == "fail_open"


def _what(check: Check) -> str:
    return "budget" if check.kind == "budget" else "rate limit"
