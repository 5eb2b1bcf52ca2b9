"""Alerts: a budget crossing a threshold, or a rate limit's window filling up, sent to webhooks.

The admit stage calls ``Alerter.notify`` on the hot path: it never blocks and never raises.
Each alert is sent once per budget (or limit), subject, threshold and period over every
replica: ``once`` claims the alert's dedupe key in the shared state until the period resets.
Background workers POST it to every webhook, retrying a connection error, a timeout, a 5xx
or a 429 (after its ``retry-after``, capped) with a backoff that doubles from
``alerts.backoff_s``, then record it in the store's ``alerts`` table (``keel report alerts``).

The ``json`` format's body (times are Unix seconds, each also in ISO 8601)::

    {"type": "keel.alert", "version": 1, "kind": "budget", "name": "alpha-monthly",
     "subject": "alpha", "threshold": 80.0, "used": 40.0, "limit": 50.0,
     "period_start": 1761955200.0, "period_start_iso": "2025-11-01T00:00:00+00:00",
     "resets_at": 1764547200.0, "resets_at_iso": "2025-12-01T00:00:00+00:00",
     "message": "team alpha has spent $40.00 of its $50.00 monthly budget ...",
     "dedupe_key": "budget:alpha-monthly:alpha:80:1761955200",
     "sent_at": 1762331000.5, "sent_at_iso": "2025-11-05T08:23:20.500000+00:00"}

Every POST carries ``idempotency-key: <dedupe_key>``, so a receiver can drop a retry of a POST
it took but did not answer in time. The ``slack`` format is a Slack incoming-webhook payload,
``{"text": message, "blocks": [...]}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx
import orjson

from keel.config.finops import AlertsConfig, BudgetConfig, RateLimitConfig, WebhookConfig
from keel.monitor.alert_body import body_of, number
from keel.store.alerts import AlertRecord, AlertStore

if TYPE_CHECKING:
    from keel.monitor.metrics import Metrics

__all__ = ["Alert", "Alerter", "Once", "budget_alert", "rate_limit_alert"]

log = logging.getLogger("keel.alerts")

QUEUE_SIZE = 1000  # alerts waiting for a worker; more are dropped (and counted)
WORKERS = 4  # alerts delivered at once: one slow webhook does not hold up the rest
RETRY_AFTER_CAP_S = 60.0  # the longest retry-after honoured
DEDUPE_MARGIN_S = 3600.0  # a key is kept this long past its period's end (clock skew)
_SEEN_MAX = 10_000  # dedupe keys this process remembers before forgetting expired ones

Once = Callable[[str, float], Awaitable[bool]]
"""``once(key, ttl_s)``: True the first time ``key`` is claimed (over every replica), False
while the claim lasts."""


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a budget's or a rate limit's owner should hear about, once per period; or a
    monitor's episode (keel.monitor.episodes), once when it starts (``state`` firing) and
    once when it ends (resolved)."""

    kind: str  # budget | rate_limit | drift | embedding_drift | quality | latency | errors
    name: str  # the budget's or limit's configured name; a monitor's kind
    subject: str  # the team, project, key id or model it is about
    threshold: float  # percent crossed (50, 80, 100; a limit's alert_at); a monitor's threshold
    used: float  # dollars spent (budget) or units used in the window (limit); a monitor's value
    limit: float  # the budget's limit_usd or the window's limit
    period_start: float  # Unix time the period or window began; when the episode started
    resets_at: float  # Unix time the period ends or the window frees; when the episode ended
    message: str  # one sentence for a human
    state: str = "firing"  # firing | resolved
    details: dict[str, Any] = field(default_factory=dict)  # a monitor's, e.g. feature scores

    def dedupe_key(self) -> str:
        key = ":".join((
            self.kind, self.name, self.subject, number(self.threshold), number(self.period_start)
        ))  # fmt: skip
        return key if self.state == "firing" else f"{key}:{self.state}"

    def incident_key(self) -> str:
        """What a firing alert and its resolve message share (PagerDuty's ``dedup_key``)."""
        return ":".join((self.kind, self.name, self.subject, number(self.period_start)))


_PERIODS = {"day": "daily", "week": "weekly", "month": "monthly"}
_UNITS = {"rpm": "requests a minute", "tpm": "tokens a minute", "concurrency": "requests at once"}


def budget_alert(
    budget: BudgetConfig,
    subject: str,
    threshold: float,
    spent_usd: float,
    period_start: float,
    resets_at: float,
) -> Alert:
    """The alert for a budget's spend crossing ``threshold`` percent of its cap."""
    message = (
        f"{budget.scope} {subject} has spent ${spent_usd:.2f} of its ${budget.limit_usd:.2f} "
        f"{_PERIODS[budget.period]} budget {budget.name!r} ({number(threshold)}%)"
    )
    return Alert("budget", budget.name, subject, threshold, spent_usd, budget.limit_usd,
                 period_start, resets_at, message)  # fmt: skip


def rate_limit_alert(
    limit: RateLimitConfig,
    subject: str,
    window: str,
    used: float,
    allowed: float,
    period_start: float,
    resets_at: float,
) -> Alert:
    """The alert for one of a rate limit's windows (``rpm``, ``tpm`` or ``concurrency``)
    filling past its ``alert_at``. One alert per limit, subject and period: the admit stage
    passes the hour as the period, so a saturated limit alerts at most once an hour."""
    threshold = limit.alert_at if limit.alert_at is not None else 100.0
    message = (
        f"{limit.scope} {subject} used {number(used)} of its {number(allowed)} "
        f"{_UNITS.get(window, window)} under rate limit {limit.name!r} "
        f"({number(round(100 * used / allowed, 1))}% full)"
    )
    return Alert("rate_limit", limit.name, subject, threshold, used, allowed,
                 period_start, resets_at, message)  # fmt: skip


class _Delivery(NamedTuple):
    """What became of one alert at one webhook."""

    ok: bool
    attempts: int
    error: str | None


class _Answer(NamedTuple):
    """One POST: the error (None: taken), whether to try again, and after how long at least."""

    error: str | None
    retry: bool = False
    retry_after: float | None = None


class Alerter:
    """Dedupes, queues and delivers alerts in the background; see the module's docstring.

    ``outcomes`` counts alerts by outcome in this process: delivered (every webhook took it),
    failed (some webhook did not, after every retry), recorded (no webhooks configured: only
    recorded), deduped, dropped (queue full, or the alerter closed first); and store_errors,
    records the store refused. With ``metrics`` they are exported as ``keel_alerts_total``.
    """

    def __init__(
        self,
        config: AlertsConfig,
        store: AlertStore | None,
        once: Once,
        *,
        client: httpx.AsyncClient | None = None,
        metrics: Metrics | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.config = config
        self.outcomes: Counter[str] = Counter()
        self._store = store
        self._once = once
        self._client = client
        self._owns_client = client is None
        self._metrics = metrics
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(queue_size)
        self._seen: dict[str, float] = {}  # dedupe key -> Unix time this process may forget it
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False

    async def start(self) -> None:
        """Start the delivery workers (alerts notified before are kept in the queue)."""
        if self._workers or self._closed:
            return
        if self._client is None:
            self._client = httpx.AsyncClient(headers={"user-agent": "keel-alerts"})
        self._workers = [
            asyncio.create_task(self._work(), name=f"keel-alerts-{i}") for i in range(WORKERS)
        ]

    def notify(self, alert: Alert) -> None:
        """Queue an alert for delivery unless it was already sent this period. Never blocks,
        never raises: an alert must not break the request that raised it."""
        try:
            self._enqueue(alert)
        except Exception:
            log.exception("alert %s not queued", alert.dedupe_key())

    async def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued within ``timeout_s``, then stop; the rest is dropped."""
        self._closed = True
        if self._workers:
            try:
                await asyncio.wait_for(self._queue.join(), timeout_s)
            except TimeoutError:
                log.warning("alerts: stopping with deliveries unfinished after %gs", timeout_s)
            for task in self._workers:
                task.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            self._workers = []
        while not self._queue.empty():
            self._count(self._queue.get_nowait(), "dropped")
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _enqueue(self, alert: Alert) -> None:
        key = alert.dedupe_key()
        now = time.time()
        if self._closed:
            log.warning("alert %s dropped: alerts are closed", key)
            self._count(alert, "dropped")
        elif self._seen.get(key, 0.0) > now:  # this process queued it already
            self._count(alert, "deduped")
        elif self._queue.full():
            log.warning("alert %s dropped: %d alerts wait already", key, self._queue.qsize())
            self._count(alert, "dropped")
        else:
            self._queue.put_nowait(alert)
            self._remember(key, now + _ttl_s(alert, now))

    def _remember(self, key: str, until: float) -> None:
        if len(self._seen) >= _SEEN_MAX:
            now = time.time()
            self._seen = {k: t for k, t in self._seen.items() if t > now}
            if len(self._seen) >= _SEEN_MAX:  # ``once`` still dedupes what is forgotten
                self._seen.clear()
        self._seen[key] = until

    async def _work(self) -> None:
        while True:
            alert = await self._queue.get()
            try:
                await self._handle(alert)
            except asyncio.CancelledError:
                self._count(alert, "dropped")
                raise
            except Exception:
                log.exception("alert %s: delivery failed unexpectedly", alert.dedupe_key())
            finally:
                self._queue.task_done()

    async def _handle(self, alert: Alert) -> None:
        if not await self._claim(alert):
            self._count(alert, "deduped")
            return
        hooks = self.config.webhooks
        results = await asyncio.gather(*(self._deliver(i, h, alert) for i, h in enumerate(hooks)))
        record = _record(alert, results)
        await self._save(record)
        self._count(alert, _OUTCOMES[record.status])

    async def _claim(self, alert: Alert) -> bool:
        key = alert.dedupe_key()
        try:
            return await self._once(key, _ttl_s(alert, time.time()))
        except Exception as exc:  # a duplicate alert is better than a lost one
            log.warning("alert %s: cannot check it was not sent already (%s); sending it", key, exc)
            return True

    async def _deliver(self, index: int, hook: WebhookConfig, alert: Alert) -> _Delivery:
        """POST the alert to one webhook, retrying as the module's docstring says."""
        body = orjson.dumps(body_of(hook, alert, time.time()))
        headers = {"content-type": "application/json", "idempotency-key": alert.dedupe_key()}
        backoff = self.config.backoff_s
        for attempt in range(1, self.config.retries + 2):
            answer = await self._post(hook.url, body, headers)
            if answer.error is None:
                return _Delivery(True, attempt, None)
            if not answer.retry or attempt > self.config.retries:
                error = f"webhook {index + 1} ({_site(hook.url)}): {answer.error}"
                log.warning("alert %s not delivered: %s", alert.dedupe_key(), error)
                return _Delivery(False, attempt, error)
            after = answer.retry_after
            await asyncio.sleep(backoff if after is None else min(after, RETRY_AFTER_CAP_S))
            backoff *= 2
        raise AssertionError("unreachable: the last attempt returns")

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> _Answer:
        assert self._client is not None, "Alerter.start() first"
        timeout = self.config.timeout_s
        try:
            response = await self._client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            return _Answer(f"no answer within {timeout:g}s (alerts.timeout_s)", retry=True)
        except httpx.HTTPError as exc:
            return _Answer(f"{type(exc).__name__}: {exc}".rstrip(": "), retry=True)
        if response.is_success:
            return _Answer(None)
        status = response.status_code
        error = f"HTTP {status} {response.text[:200]}".rstrip()
        if status == 429 or status >= 500:
            return _Answer(error, retry=True, retry_after=_retry_after(response))
        return _Answer(error + " (not retried: fix the webhook's url or its receiver)")

    async def _save(self, record: AlertRecord) -> None:
        if self._store is None:
            return
        try:
            await self._store.add_alert(record)
        except Exception as exc:
            self.outcomes["store_errors"] += 1
            if self._metrics is not None:
                self._metrics.alert_store_errors.inc()
            log.error(
                "alert %s:%s:%s (%s) not recorded in the store: %s",
                record.kind, record.name, record.subject, record.status, exc,
            )  # fmt: skip

    def _count(self, alert: Alert, outcome: str) -> None:
        self.outcomes[outcome] += 1
        if self._metrics is not None:
            self._metrics.alerts.labels(alert.kind, outcome).inc()


_OUTCOMES = {
    "delivered": "delivered",
    "partial": "failed",
    "failed": "failed",
    "no_webhooks": "recorded",
}


def _ttl_s(alert: Alert, now: float) -> float:
    return max(alert.resets_at - now, 0.0) + DEDUPE_MARGIN_S


def _record(alert: Alert, results: list[_Delivery]) -> AlertRecord:
    delivered = sum(r.ok for r in results)
    failed = len(results) - delivered
    errors = [r.error for r in results if r.error]
    if not results:
        status = "no_webhooks"
    else:
        status = "delivered" if not failed else "failed" if not delivered else "partial"
    return AlertRecord(
        ts=time.time(), kind=alert.kind, name=alert.name, subject=alert.subject,
        threshold=alert.threshold, used=alert.used, limit=alert.limit,
        period_start=alert.period_start, resets_at=alert.resets_at, message=alert.message,
        status=status, delivered=delivered, failed=failed,
        attempts=sum(r.attempts for r in results), last_error=errors[-1] if errors else None,
    )  # fmt: skip


def _retry_after(response: httpx.Response) -> float | None:
    """The server's retry-after in seconds (only the delta form; a date is rare here)."""
    try:
        return max(float(response.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return None


def _site(url: str) -> str:
    """Where a webhook is, without its path: a Slack webhook's path is its secret."""
    parsed = httpx.URL(url)
    return parsed.host + (f":{parsed.port}" if parsed.port else "")
