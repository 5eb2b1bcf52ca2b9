"""The FinOps sections of ``keel.yaml``: what deployments cost, the budgets and rate limits
every request is held to, where the shared counters live, what a use case is worth, and
where alerts go."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AlertsConfig",
    "BudgetConfig",
    "PriceConfig",
    "RateLimitConfig",
    "StateConfig",
    "UseCaseConfig",
    "WebhookConfig",
]

OnStateError = Literal["fail_closed", "fail_open"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceConfig(_Section):
    """What a deployment costs, in US dollars. ``list`` takes a model's prices from keel's
    bundled price list (``keel prices`` shows it); any field given here overrides it. A
    self-hosted deployment gives ``hourly_usd`` instead: its calls cost nothing each, and
    ``keel report costs`` spreads the hours over the tokens actually served."""

    list: str | None = Field(None, description="A name in the bundled price list, e.g. gpt-4o.")
    input_per_mtok: float | None = Field(None, ge=0, description="Per million prompt tokens.")
    cached_input_per_mtok: float | None = Field(
        None, ge=0, description="Per million prompt tokens read from the upstream's cache."
    )
    output_per_mtok: float | None = Field(None, ge=0, description="Per million completion tokens.")
    per_request: float | None = Field(None, ge=0, description="Flat price per request.")
    hourly_usd: float | None = Field(
        None, ge=0, description="Self-hosted: what the server costs per hour (amortisation)."
    )

    @model_validator(mode="before")
    @classmethod
    def _name_shorthand(cls, value: Any) -> Any:
        return {"list": value} if isinstance(value, str) else value


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as UTC or Europe/Berlin"
        ) from None
    return name


class BudgetConfig(_Section):
    """A spending cap over a calendar period. ``hard`` refuses a request whose worst-case
    cost no longer fits (429 budget_exceeded, retry-after until the period resets); ``soft``
    only alerts. Each request reserves its worst-case cost before the call and settles the
    real cost after it, so concurrent requests cannot together pass a hard budget."""

    name: str = Field(..., min_length=1, description="Unique name; shown in errors and alerts.")
    scope: Literal["team", "project", "key"] = Field(
        ..., description="What is capped: a team, a project (a tag on keys) or one key."
    )
    match: str = Field(
        "*", min_length=1, description='The team, project or key id; "*": each one separately.'
    )
    limit_usd: float = Field(..., gt=0, description="The cap, in US dollars.")
    period: Literal["day", "week", "month"] = Field("month", description="day, week or month.")
    timezone: str = Field("UTC", description="Where the period starts: an IANA zone name.")
    mode: Literal["hard", "soft"] = Field("hard", description="hard refuses; soft alerts.")
    default_max_tokens: int = Field(
        4096,
        gt=0,
        description="The completion cap reserved (and sent upstream as max_tokens) for a "
        "request that names none.",
    )
    alert_at: list[float] = Field(
        default_factory=lambda: [50.0, 80.0, 100.0],
        description="Percentages of the cap at which an alert fires (once per period each).",
    )
    on_state_error: OnStateError | None = Field(
        None,
        description="When the state backend is unreachable: fail_closed (503; the default for "
        "hard) or fail_open (admit uncounted; the default for soft).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return _zone(name)

    @property
    def fails_open(self) -> bool:
        chosen = self.on_state_error or ("fail_closed" if self.mode == "hard" else "fail_open")
        return chosen == "fail_open"


class RateLimitConfig(_Section):
    """Requests per minute, tokens per minute and concurrent requests, per key, team or
    model (a logical model, or a predictive one by its name). Windows slide: in any 60 seconds
    at most ``rpm`` requests (and ``tpm`` tokens) are admitted. Tokens are counted at admission
    (prompt plus the completion cap) and corrected to the real count after the call. A
    prediction counts as one request; ``tpm`` does not apply to predictions."""

    name: str = Field(..., min_length=1, description="Unique name; shown in errors and alerts.")
    scope: Literal["key", "team", "model"] = Field(..., description="key, team or model.")
    match: str = Field(
        "*",
        min_length=1,
        description="The key id, team, or model (logical, or predictive under "
        'predictive.models); "*": each one.',
    )
    rpm: int | None = Field(None, gt=0, description="Requests admitted in any 60 seconds.")
    tpm: int | None = Field(None, gt=0, description="Tokens admitted in any 60 seconds.")
    concurrency: int | None = Field(None, gt=0, description="Requests in flight at once.")
    alert_at: float | None = Field(
        90.0,
        gt=0,
        le=100,
        description="Alert when a window is this full (percent), once per hour; null: never.",
    )
    on_state_error: OnStateError = Field(
        "fail_open", description="When the state backend is unreachable: fail_open or fail_closed."
    )

    @model_validator(mode="after")
    def _some_limit(self) -> RateLimitConfig:
        if self.rpm is None and self.tpm is None and self.concurrency is None:
            raise ValueError("give at least one of rpm, tpm and concurrency")
        return self


class StateConfig(_Section):
    """Where shared counters (budgets, rate limits) live: ``memory://`` for one process, or
    ``redis://host:port/db`` shared by every replica."""

    url: str = Field("memory://", description="State URL; the scheme picks the backend.")
    prefix: str = Field("keel", min_length=1, description="Prefix of every Redis key keel writes.")
    timeout_s: float = Field(
        1.0,
        gt=0,
        description="Longest wait for Redis to answer one call; past it the call counts as "
        "a failure (Redis is slow).",
    )
    connect_timeout_s: float = Field(
        1.0, gt=0, description="Longest wait to open a connection to Redis."
    )
    pool_size: int = Field(
        32,
        ge=1,
        le=1024,
        description="Connections to Redis per keel process, all opened at start. A request "
        "waits for a free one.",
    )
    pool_wait_s: float = Field(
        2.0,
        gt=0,
        description="Longest wait for a free pooled connection. A wait that runs out means "
        "keel is overloaded; it is not counted as Redis failing.",
    )
    failures_to_open: int = Field(
        5,
        ge=1,
        description="Failures in a row (no success between) after which requests stop asking "
        "Redis and fail at once (fail_open or fail_closed per policy) for open_s.",
    )
    open_s: float = Field(
        1.0,
        gt=0,
        description="How long requests fail at once after failures_to_open; then one request "
        "probes Redis, and its success ends the outage.",
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("memory://", "redis://", "rediss://", "unix://")):
            raise ValueError("state url must be memory:// or redis://host:port/db")
        return url


class UseCaseConfig(_Section):
    """What one use case (a project tag on keys) is worth, for ``keel report roi``."""

    value_per_success_usd: float = Field(
        0.0, ge=0, description="Value of each successful request, in US dollars."
    )
    value_per_outcome_usd: dict[str, float] = Field(
        default_factory=dict,
        description="Value of each feedback outcome (POST /v1/feedback), e.g. {resolved: 4.0}.",
    )
    minutes_saved: dict[str, float] = Field(
        default_factory=dict,
        description="Or: minutes saved per feedback outcome, valued at hourly_rate_usd.",
    )
    hourly_rate_usd: float = Field(0.0, ge=0, description="What an hour of the users' time costs.")
    description: str = Field("", description="Free text.")


class WebhookConfig(_Section):
    """Where an alert is sent: a generic JSON POST, a Slack-compatible incoming webhook, or
    PagerDuty's Events API v2 (``url: https://events.pagerduty.com/v2/enqueue``)."""

    url: str = Field(..., min_length=1, description="http(s) URL; ${ENV} works.")
    format: Literal["json", "slack", "pagerduty"] = Field(
        "json", description="json, slack or pagerduty."
    )
    routing_key: str | None = Field(
        None,
        min_length=1,
        repr=False,
        description="pagerduty: the integration's routing key (use ${ENV}; never logged).",
    )

    @model_validator(mode="after")
    def _pagerduty_key(self) -> WebhookConfig:
        if self.format == "pagerduty" and self.routing_key is None:
            raise ValueError(
                "a pagerduty webhook needs routing_key: the Events API v2 integration key "
                "of the PagerDuty service (routing_key: ${PAGERDUTY_ROUTING_KEY})"
            )
        return self

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook url must start with http:// or https://")
        return url


class AlertsConfig(_Section):
    """Budget thresholds and rate-limit saturation, sent to webhooks; retried with backoff,
    sent once per budget, threshold and period (across replicas), and recorded in the store."""

    webhooks: list[WebhookConfig] = Field(default_factory=list, description="Where alerts go.")
    retries: int = Field(5, ge=0, description="Extra tries of a webhook that fails.")
    backoff_s: float = Field(1.0, gt=0, description="First retry's wait; doubles each retry.")
    timeout_s: float = Field(5.0, gt=0, description="Longest wait for a webhook to answer.")
