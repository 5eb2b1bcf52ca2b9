"""Stage 3, admit: rate limits and budgets, checked and taken in one atomic step before the
call, settled to the real amounts after it.

What a request takes:

- each ``rpm`` limit: one request in its 60-second sliding window;
- each ``tpm`` limit: its tokens (the prompt estimated, plus the completion cap) in its
  window, corrected to the real count when the call is over;
- each ``concurrency`` limit: a slot until the call is over;
- each hard budget: the call's worst-case cost, reserved until the call is over and then
  settled to the real cost. The worst case prices every prompt byte as a token (a token is
  never shorter than a byte) and the completion cap (``max_tokens``, or the budget's
  ``default_max_tokens``, which is then sent upstream as ``max_tokens``) at the dearest
  deployment the model may route to. So a settled cost never passes its reservation, and
  concurrent requests cannot together pass the budget.

Soft budgets take nothing and refuse nothing: they count the real cost and alert.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson

from keel.call import PROMPT_FIELD, Call, Principal
from keel.config.finops import BudgetConfig, RateLimitConfig
from keel.config.schema import KeelConfig
from keel.errors import BudgetExceeded, RateLimited
from keel.errors import StateUnavailable as StateUnavailableError
from keel.finops.periods import Period, period_at
from keel.finops.prices import Price
from keel.monitor.alerts import Alerter, budget_alert, rate_limit_alert
from keel.monitor.metrics import Metrics
from keel.state.base import NEVER, UNLIMITED, Hold, Settle, State, StateUnavailable, Verdict
from keel.store.usage import UsageStore

__all__ = ["Admission", "Admit", "Check"]

log = logging.getLogger("keel.admit")

WINDOW_MS = 60_000
NANO = 1_000_000_000  # budgets count nano-dollars: integers, exact on every backend
_BYTES_OVERHEAD = 16  # per request, for the tokens a chat template adds
_PENDING_MAX = 100_000  # settles kept for retry while the state backend is down
_ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}
_SPEND_COLUMN = {"team": "team", "project": "project", "key": "key_id"}


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


class Admit:
    def __init__(
        self,
        config: KeelConfig,
        state: State,
        store: UsageStore,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        alerter: Alerter | None = None,
    ) -> None:
        self.budgets = tuple(config.budgets)
        self.limits = tuple(config.rate_limits)
        self.active = bool(self.budgets or self.limits)
        self.state = state
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.prefix = config.state.prefix
        self.lease_ms = int((config.server.deadline_s + 60) * 1000)
        self.max_tokens = config.limits.max_tokens
        self.bounds = _price_bounds(config)
        self.dearest = _max_price(d.prices for d in config.deployments)
        self.alerter = alerter
        self._alerted: dict[str, float] = {}  # budget counter -> highest threshold notified
        # Settles the backend missed: (settles, token, when the call's record was committed).
        self.pending: deque[tuple[list[Settle], str, int]] = deque(maxlen=_PENDING_MAX)
        self._periods: dict[str, Period] = {}
        self._retry_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.state.start()
        if self.active:
            self._retry_task = asyncio.create_task(self._retry_settles())

    async def close(self) -> None:
        if self._retry_task is not None:
            self._retry_task.cancel()
            await asyncio.gather(self._retry_task, return_exceptions=True)
        await self._flush_pending()
        await self.state.close()

    # before the call

    async def before(self, call: Call) -> None:
        if not self.active or call.principal is None:
            return
        principal = call.principal
        budgets = _applying(self.budgets, principal, call)
        limits = _applying(self.limits, principal, call)
        if not budgets and not limits:
            return
        now = self.clock()
        now_ms = int(now * 1000)
        hard = [b for b, _ in budgets if b.mode == "hard"]
        cap = self._completion_cap(call, hard)
        prompt = _prompt_bytes(call) if hard or any(r.tpm for r, _ in limits) else 0
        worst = self._worst_nano(call.model, prompt, cap) if hard else 0
        tokens = (prompt + 3) // 4 + cap  # about four bytes a token: tpm's admission count
        holds: list[Hold] = []
        checks: list[Check] = []
        for budget, subject in budgets:
            period = self._period(budget, now)
            key = f"{self.prefix}:b:{budget.name}:{subject}:{int(period.start)}"
            is_hard = budget.mode == "hard"
            holds.append(Hold(
                "budget", key, round(budget.limit_usd * NANO) if is_hard else UNLIMITED,
                worst if is_hard else 0, self.lease_ms, int(period.end * 1000),
            ))  # fmt: skip
            checks.append(Check(budget, "budget", subject, period))
        for limit, subject in limits:
            base = f"{self.prefix}:l:{limit.name}:{subject}"
            if limit.rpm is not None:
                holds.append(Hold("window", base + ":rpm", limit.rpm, 1, WINDOW_MS))
                checks.append(Check(limit, "rpm", subject))
            if limit.tpm is not None:
                holds.append(Hold("window", base + ":tpm", limit.tpm, tokens, WINDOW_MS))
                checks.append(Check(limit, "tpm", subject))
            if limit.concurrency is not None:
                holds.append(Hold("slots", base + ":cc", limit.concurrency, 1, self.lease_ms))
                checks.append(Check(limit, "concurrency", subject))
        token = secrets.token_hex(8)
        try:
            verdict = await self._admit(holds, checks, token, now_ms)
        except StateUnavailable as exc:
            self._unchecked(checks, exc)
            return
        if not verdict.admitted:
            self._refuse(call, verdict, holds, checks, now, worst)
        call.admission = Admission(token, holds, checks)
        call.limit_headers = _headers(verdict, holds, checks)
        if self.alerter is not None:
            self._saturation(verdict, holds, checks, now)

    async def _admit(
        self, holds: list[Hold], checks: list[Check], token: str, now_ms: int
    ) -> Verdict:
        for _ in range(3):
            verdict = await self.state.admit(holds, token, now_ms)
            if not verdict.missing:
                return verdict
            for i in verdict.missing:
                await self._seed(holds[i], checks[i])
        raise StateUnavailable("not ready (budget counters could not be started)")

    async def _seed(self, hold: Hold, check: Check) -> None:
        """A budget without a counter (its period just began, or the backend lost it) starts
        from what the usage records say it spent so far this period."""
        assert isinstance(check.policy, BudgetConfig) and check.period is not None
        column = _SPEND_COLUMN[check.policy.scope]
        as_of = int(self.clock() * 1000)  # records committed before now are in the sum
        try:
            spent = await self.store.spent_between(
                column, check.subject, check.period.start, check.period.end
            )
        except Exception as exc:  # the store is down: the budget cannot know its spend
            raise StateUnavailable(
                f"not ready (the store could not say what was spent: {exc})"
            ) from exc
        await self.state.seed(hold.key, math.ceil(spent * NANO), hold.expires_ms, as_of)

    def _unchecked(self, checks: list[Check], exc: StateUnavailable) -> None:
        self.metrics.state_errors.labels("admit").inc()
        closed = [c for c in checks if not _fails_open(c.policy)]
        if not closed:
            self.metrics.state_unchecked.labels("fail_open").inc()
            return
        self.metrics.state_unchecked.labels("fail_closed").inc()
        names = ", ".join(sorted({f"{_what(c)} '{c.policy.name}'" for c in closed}))
        raise StateUnavailableError(
            f"keel cannot check {names} because its state backend ({self.state.url}) is {exc}, "
            "and the policy is fail_closed. Retry shortly; if it persists, "
            "check the state backend, or set on_state_error: fail_open on the policy."
        )

    def _refuse(
        self,
        call: Call,
        verdict: Verdict,
        holds: list[Hold],
        checks: list[Check],
        now: float,
        worst: int,
    ) -> None:
        i = verdict.refused
        hold, check = holds[i], checks[i]
        self.metrics.refused.labels(check.policy.name, check.kind).inc()
        call.limit_headers = _headers(verdict, holds, checks)
        wait = verdict.retry_after_ms
        if self.alerter is not None:
            self._saturation(verdict, holds, checks, now, refused=i)
        if check.kind == "budget":
            policy = check.policy
            assert isinstance(policy, BudgetConfig) and check.period is not None
            spent, used = verdict.spent[i], verdict.levels[i]
            if self.alerter is not None and wait != NEVER:  # used up: refusing from now on
                self._budget_alerts(hold.key, check, max(used, hold.limit) / NANO, at_least=100)
            who = f"{policy.scope} {check.subject}"
            if wait == NEVER:
                raise BudgetExceeded(
                    f"This request could cost up to ${worst / NANO:.6f}, more than the whole "
                    f"{_ADJECTIVE[policy.period]} budget '{policy.name}' of {who} "
                    f"(${policy.limit_usd:.2f}). "
                    "Send a lower max_tokens or a shorter prompt.",
                    retry_after_ms=int((check.period.end - now) * 1000),
                )
            resets = datetime.fromtimestamp(check.period.end, ZoneInfo(policy.timezone))
            raise BudgetExceeded(
                f"The {_ADJECTIVE[policy.period]} budget '{policy.name}' of {who} is used up for "
                f"{check.period.label}: ${spent / NANO:.4f} spent and "
                f"${(used - spent) / NANO:.4f} reserved by requests in flight, of "
                f"${policy.limit_usd:.2f}; this request could cost up to ${worst / NANO:.6f}. "
                f"It resets at {resets.isoformat()} (retry-after). To go on sooner, raise "
                "limit_usd in keel.yaml or send a lower max_tokens.",
                retry_after_ms=wait,
            )
        seconds = max(1, -(-wait // 1000))
        who = f"{check.policy.scope} {check.subject}"
        if check.kind == "concurrency":
            message = (
                f"Rate limit '{check.policy.name}': {hold.limit} requests of {who} are already "
                "in flight. Retry when one finishes."
            )
            raise RateLimited(message, retry_after_ms=wait)
        unit = "requests" if check.kind == "rpm" else "tokens"
        if wait == NEVER:
            raise RateLimited(
                f"Rate limit '{check.policy.name}': this request counts {hold.amount} tokens "
                f"(its prompt, estimated, plus max_tokens), more than the {hold.limit} tokens "
                f"per minute {who} may use. Send a shorter prompt or a lower max_tokens.",
                retry_after_ms=WINDOW_MS,
                retry=False,
                code="tokens_exceed_limit",
            )
        raise RateLimited(
            f"Rate limit '{check.policy.name}' reached: {who} may use {hold.limit} {unit} per "
            f"minute and has used {verdict.levels[i]}. Retry in {seconds}s (retry-after).",
            retry_after_ms=wait,
        )

    def _completion_cap(self, call: Call, hard: list[BudgetConfig]) -> int:
        if call.endpoint == "embeddings":
            return 0
        body = call.body
        asked = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(asked, int) and not isinstance(asked, bool):
            cap = asked
        elif hard:
            cap = min(min(b.default_max_tokens for b in hard), self.max_tokens)
            body["max_tokens"] = cap  # the reservation's bound holds only if upstream keeps it
        else:
            cap = 0
        choices = body.get("n")
        if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1:
            cap *= choices
        return cap

    def _worst_nano(self, model: str, prompt_bytes: int, cap: int) -> int:
        price = self.bounds.get(model, self.dearest)
        per_input = max(price.input_per_mtok, price.cached_input_per_mtok)
        usd = (
            price.per_request
            + (prompt_bytes + _BYTES_OVERHEAD) * per_input / 1e6
            + cap * price.output_per_mtok / 1e6
        )
        return math.ceil(usd * NANO)

    def _period(self, budget: BudgetConfig, now: float) -> Period:
        period = self._periods.get(budget.name)
        if period is None or now not in period:
            period = period_at(budget.period, budget.timezone, now)
            self._periods[budget.name] = period
        return period

    # after the call

    async def after(self, call: Call) -> None:
        admission = call.admission
        if admission is None:
            return
        call.admission = None
        tokens = call.usage.total_tokens if call.usage is not None else 0
        cost = round(call.cost_usd * NANO)
        settles: list[Settle] = []
        for hold, check in zip(admission.holds, admission.checks, strict=True):
            if check.kind == "tpm":
                settles.append(Settle("window", hold.key, tokens))
            elif check.kind == "concurrency":
                settles.append(Settle("slots", hold.key))
            elif check.kind == "budget":
                settles.append(Settle("budget", hold.key, cost))
        if not settles:
            return
        recorded_ms = int(self.clock() * 1000)
        try:
            spent = await self.state.settle(settles, admission.token, recorded_ms)
        except StateUnavailable:
            self.metrics.state_errors.labels("settle").inc()
            self.pending.append((settles, admission.token, recorded_ms))
            return
        if self.alerter is None:
            return
        budgets = [(h, c) for h, c in zip(admission.holds, admission.checks, strict=True)
                   if c.kind == "budget"]  # fmt: skip
        settled = [v for item, v in zip(settles, spent, strict=True) if item.kind == "budget"]
        for (hold, check), value in zip(budgets, settled, strict=True):
            if value >= 0:
                self._budget_alerts(hold.key, check, value / NANO)

    def _budget_alerts(self, key: str, check: Check, spent_usd: float, at_least: float = 0) -> None:
        """Alert each threshold the spend has reached (once per period: the alerter dedupes
        across replicas; this only saves it the asking on every request)."""
        policy = check.policy
        assert isinstance(policy, BudgetConfig) and check.period is not None
        assert self.alerter is not None
        share = max(100 * spent_usd / policy.limit_usd, at_least)
        reached = [t for t in policy.alert_at if t <= share and t > self._alerted.get(key, -1.0)]
        if not reached:
            return
        if len(self._alerted) > 10_000:
            self._alerted.clear()
        self._alerted[key] = max(reached)
        for threshold in reached:
            self.alerter.notify(budget_alert(
                policy, check.subject, threshold, spent_usd, check.period.start, check.period.end
            ))  # fmt: skip

    def _saturation(
        self,
        verdict: Verdict,
        holds: Sequence[Hold],
        checks: Sequence[Check],
        now: float,
        refused: int = -1,
    ) -> None:
        """A rate limit's window at or past its alert_at: one alert an hour per limit."""
        assert self.alerter is not None
        hour = now - now % 3600
        for i, (hold, check) in enumerate(zip(holds, checks, strict=True)):
            policy = check.policy
            if check.kind == "budget" or not isinstance(policy, RateLimitConfig):
                continue
            if policy.alert_at is None or not verdict.levels:
                continue
            used = hold.limit if i == refused else verdict.levels[i]
            if 100 * used < policy.alert_at * hold.limit:
                continue
            self.alerter.notify(rate_limit_alert(
                policy, check.subject, check.kind, used, hold.limit, hour, hour + 3600
            ))  # fmt: skip

    async def _retry_settles(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self._flush_pending()

    async def _flush_pending(self) -> None:
        while self.pending:
            settles, token, recorded_ms = self.pending[0]
            try:
                await self.state.settle(settles, token, recorded_ms)
            except StateUnavailable:
                return
            except Exception:
                log.exception("a settle could not be applied; it is dropped")
            self.pending.popleft()


def _subject(scope: str, principal: Principal, call: Call) -> str | None:
    if scope == "team":
        return principal.team
    if scope == "key":
        return principal.key_id
    if scope == "project":
        return principal.project
    return call.model or None


P = TypeVar("P", BudgetConfig, RateLimitConfig)


def _applying(policies: Sequence[P], principal: Principal, call: Call) -> list[tuple[P, str]]:
    """The policies that hold this call, each with its subject (the team, key, ...)."""
    found = []
    for policy in policies:
        subject = _subject(policy.scope, principal, call)
        if subject is not None and policy.match in ("*", subject):
            found.append((policy, subject))
    return found


def _fails_open(policy: BudgetConfig | RateLimitConfig) -> bool:
    if isinstance(policy, BudgetConfig):
        return policy.fails_open
    return policy.on_state_error == "fail_open"


def _what(check: Check) -> str:
    return "budget" if check.kind == "budget" else "rate limit"


def _prompt_bytes(call: Call) -> int:
    prompt: Any = call.body.get(PROMPT_FIELD[call.endpoint])
    return len(orjson.dumps(prompt)) if prompt is not None else 0


def _max_price(prices: Any) -> Price:
    found = list(prices)
    if not found:
        return Price()
    return Price(
        max(p.input_per_mtok for p in found),
        max(p.cached_input_per_mtok for p in found),
        max(p.output_per_mtok for p in found),
        max(p.per_request for p in found),
    )


def _price_bounds(config: KeelConfig) -> dict[str, Price]:
    """Per logical model, the dearest price of every deployment it may route to: its own,
    a rollout's, and those of its context fallback."""
    by_name = {d.name: d.prices for d in config.deployments}

    def names(model: str, seen: set[str]) -> set[str]:
        spec = config.models.get(model)
        if spec is None or model in seen:
            return set()
        seen.add(model)
        found = set(spec.deployments)
        if spec.rollout is not None:
            found |= set(spec.rollout.weights)
            if spec.rollout.canary is not None:
                found.add(spec.rollout.canary)
        if spec.context_fallback is not None:
            found |= names(spec.context_fallback, seen)
        return found

    return {
        model: _max_price(by_name[n] for n in names(model, set()) if n in by_name)
        for model in config.models
    }


def _headers(verdict: Verdict, holds: Sequence[Hold], checks: Sequence[Check]) -> dict[str, str]:
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
