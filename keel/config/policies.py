"""How a logical model behaves when things go wrong or change: its failure policy and its
rollout (canary, A/B, shadow). Re-exported by ``keel.config.schema``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AutoRollbackConfig",
    "ErrorPolicy",
    "FeedbackRollbackConfig",
    "QualityRollbackConfig",
    "RolloutConfig",
    "ShadowConfig",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Retryable = Literal["retry", "failover", "return"]
Passable = Literal["failover", "return"]


class ErrorPolicy(_Section):
    """What keel does when a deployment fails, per kind of failure. ``retry``: the same
    deployment again (``retries`` times, with backoff), then the next; ``failover``: the next
    deployment at once; ``return``: the error goes straight back to the client."""

    rate_limited: Retryable = Field(
        "retry", description="429. A Retry-After that fits the deadline is waited for."
    )
    server_error: Retryable = Field(
        "retry", description="5xx, 408, an answer that is not JSON, an error event first."
    )
    connection: Retryable = Field(
        "retry", description="Refused, reset or cut before the first token."
    )
    timeout: Passable = Field(
        "failover", description="No first byte or first token in time: never asked again."
    )
    refused: Passable = Field(
        "failover",
        description="401, 403 or 404 from the upstream: keel's credentials or model name "
        "there are wrong; the client sees 502, never the upstream's 401.",
    )
    context_length: Literal["fallback", "return"] = Field(
        "fallback",
        description="Context length exceeded: never the same model again; context_fallback "
        "if the model has one, else the upstream's error.",
    )
    content_policy: Passable = Field(
        "return", description="A content-policy refusal: the provider's reason goes back."
    )
    bad_request: Passable = Field("return", description="Any other 4xx: the upstream's error.")


class QualityRollbackConfig(_Section):
    """When a predictive canary is rolled back on its labelled accuracy: both arms have
    min_labels labelled rows since the split's last change, the canary's accuracy is below the
    champion's by more than min_drop, and a one-sided two-proportion z-test says so at alpha."""

    enabled: bool = Field(True, description="Roll the canary back when its accuracy is worse.")
    min_labels: int = Field(
        100, gt=0, description="Labelled rows on the canary and on the champion before judging."
    )
    min_drop: float = Field(
        0.02, ge=0, le=1, description="An accuracy difference below this is never a reason."
    )
    alpha: float = Field(0.01, gt=0, lt=0.5, description="The test's false-alarm rate per check.")


class FeedbackRollbackConfig(QualityRollbackConfig):
    """When an LLM canary is rolled back on its callers' feedback (POST /v1/feedback): the
    share of good outcomes on the canary's answers against the baseline's, judged like a
    predictive canary's accuracy (min_labels feedbacks per side, min_drop, alpha). Off until
    good_outcomes names the outcomes that count as good."""

    good_outcomes: list[str] = Field(
        default_factory=list,
        description="The feedback outcomes that are good (e.g. [resolved], or [4, 5] for a "
        "rating); empty: feedback never rolls a canary back.",
    )


class AutoRollbackConfig(_Section):
    """When a canary is rolled back on its own: worse than the baseline by a margin."""

    enabled: bool = Field(True, description="Roll the canary back when it does worse.")
    min_requests: int = Field(
        50, gt=0, description="Attempts on the canary and on the baseline before judging."
    )
    max_error_rate_increase: float = Field(
        0.05, ge=0, le=1, description="Canary error rate minus the baseline's (0.05 = 5 points)."
    )
    max_p95_ratio: float = Field(
        1.5, ge=1, description="Canary p95 latency divided by the baseline's."
    )
    min_p95_increase_ms: float = Field(
        5.0, ge=0, description="A p95 difference below this is noise, never a reason."
    )
    feedback: FeedbackRollbackConfig = Field(
        FeedbackRollbackConfig(), description="Roll back on worse feedback too; see below."
    )


class RolloutConfig(_Section):
    """Who gets which deployment first: a canary (a percentage) or an A/B split (weights),
    sticky per user, key or team. ``keel rollout`` changes it live, and what it sets in the
    store overrides this."""

    mode: Literal["canary", "ab"] = Field(..., description="canary: one deployment gets percent.")
    canary: str | None = Field(None, description="canary: the deployment on trial.")
    percent: float = Field(0.0, ge=0, le=100, description="canary: share of traffic, 0 to 100.")
    weights: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="ab: share per deployment name."
    )
    sticky: Literal["user", "key", "team"] = Field(
        "user", description="What keeps a caller on one side (user: the body's user, else key)."
    )
    auto_rollback: AutoRollbackConfig = Field(
        AutoRollbackConfig(), description="canary: when to roll back on its own; see below."
    )

    @model_validator(mode="after")
    def _fields_of_the_mode(self) -> RolloutConfig:
        if self.mode == "canary":
            if self.canary is None:
                raise ValueError("a canary rollout needs canary: <deployment name>")
            if self.weights:
                raise ValueError("weights belong to mode: ab; a canary takes percent")
        else:
            if self.canary is not None or "percent" in self.model_fields_set:
                raise ValueError("canary and percent belong to mode: canary; ab takes weights")
            if sum(self.weights.values()) <= 0:
                raise ValueError("an A/B split needs weights with a share above 0")
        return self


class ShadowConfig(_Section):
    """A copy of some requests goes to another deployment; its answer is recorded, discarded."""

    deployment: str = Field(..., description="Any deployment name; need not serve the model.")
    percent: float = Field(..., ge=0, le=100, description="Share of requests copied, 0 to 100.")
