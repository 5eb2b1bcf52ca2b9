"""The shape of ``keel.yaml``. Every section refuses fields it does not know."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "AuditConfig",
    "AutoRollbackConfig",
    "BreakerConfig",
    "DeploymentConfig",
    "ErrorPolicy",
    "HealthConfig",
    "KeelConfig",
    "ModelConfig",
    "PriceConfig",
    "RegionConfig",
    "RolloutConfig",
    "ServerConfig",
    "ShadowConfig",
    "SimConfig",
    "StateConfig",
    "StoreConfig",
    "TeamConfig",
    "TimeoutsConfig",
]

ProviderName = Literal["openai", "sim", "local-embeddings"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    """Where keel listens and what it accepts."""

    host: str = Field("127.0.0.1", description="Address to bind.")
    port: int = Field(8080, ge=0, le=65535, description="Port to bind (0 picks a free one).")
    max_body_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Largest request body accepted (413 beyond)."
    )
    access_log: bool = Field(True, description="One JSON line per request on stdout.")
    deadline_s: float = Field(
        600.0,
        gt=0,
        description="Whole-request deadline; a request's x-keel-timeout may shorten it.",
    )
    key_cache_s: float = Field(
        5.0, ge=0, description="How long a looked-up API key is cached (revocation delay)."
    )
    rollout_refresh_s: float = Field(
        1.0, gt=0, description="How often the live rollout split is read from the store."
    )
    demo: bool = Field(
        False, description="Demo mode: refuse to bind beyond loopback (set by the demo config)."
    )


class StoreConfig(_Section):
    """Where records (usage, keys) are kept. ``sqlite:///path`` or ``postgresql://…``."""

    url: str = Field(
        "sqlite:///.keel/keel.db", description="Store URL; the scheme picks the backend."
    )
    commit_batch_max: int = Field(
        512, gt=0, description="Most records one group-commit transaction carries."
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("store url must start with sqlite:/// or postgresql://")
        return url


class StateConfig(_Section):
    """Where shared counters live. ``memory://`` (one process)."""

    url: str = Field("memory://", description="State URL; the scheme picks the backend.")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith("memory://"):
            raise ValueError("state url must be memory:// (redis:// arrives with shared budgets)")
        return url


class RegionConfig(_Section):
    """A place where deployments run."""

    description: str = Field("", description="Free text.")


class PriceConfig(_Section):
    """What a deployment costs, in US dollars."""

    input_per_mtok: float = Field(0.0, ge=0, description="Per million prompt tokens.")
    output_per_mtok: float = Field(0.0, ge=0, description="Per million completion tokens.")
    per_request: float = Field(0.0, ge=0, description="Flat price per request.")


class TimeoutsConfig(_Section):
    """Upstream timeouts in seconds. Missing the first byte or the first token is a silent
    deployment (the next one is tried at once); a stall between chunks is a broken stream."""

    connect_s: float = Field(5.0, gt=0, description="TCP connect (and TLS) to the upstream.")
    first_byte_s: float = Field(60.0, gt=0, description="Until the upstream's response headers.")
    first_token_s: float = Field(
        60.0, gt=0, description="Streams: from sending the request to the first token."
    )
    between_chunks_s: float = Field(
        30.0, gt=0, description="Longest silence between two reads of an answer or a stream."
    )
    total_s: float = Field(600.0, gt=0, description="Whole upstream call, stream included.")


class SimConfig(_Section):
    """The simulator's behaviour: a latency-realistic stand-in for an LLM server."""

    ttft_ms: float = Field(150.0, ge=0, description="Median time to first token.")
    ttft_sigma: float = Field(0.35, ge=0, description="Log-normal spread of time to first token.")
    tokens_per_s: float = Field(60.0, gt=0, description="Median decode speed per sequence.")
    tokens_per_s_sigma: float = Field(0.2, ge=0, description="Log-normal spread of decode speed.")
    capacity: int = Field(16, gt=0, description="Sequences decoded at once; more wait in a queue.")
    max_queue: int = Field(256, ge=0, description="Requests waiting beyond capacity; 503 past it.")
    output_tokens: int = Field(48, gt=0, description="Typical answer length in tokens.")
    seed: int = Field(0, description="Same seed and prompt give the same answer.")


class BreakerConfig(_Section):
    """When to stop sending traffic to a failing deployment, and when to try it again."""

    enabled: bool = Field(True, description="Use a circuit breaker for this deployment.")
    failures: int = Field(5, gt=0, description="Failures within window_s that open it.")
    window_s: float = Field(30.0, gt=0, description="Sliding window for counting failures.")
    cooldown_s: float = Field(5.0, gt=0, description="Open this long, then one probe request.")


class HealthConfig(_Section):
    """Active health probes: keel asks the deployment between requests whether it is up."""

    probe: bool = Field(False, description="Probe this deployment (off: passive breaker only).")
    interval_s: float = Field(5.0, gt=0, description="Seconds between probes.")
    timeout_s: float = Field(2.0, gt=0, description="A probe not answered within this fails.")
    path: str = Field(
        "/models", description="GET base_url + path; any 2xx is healthy (openai provider)."
    )
    unhealthy_after: int = Field(
        2, gt=0, description="Failed probes in a row that take the deployment out of rotation."
    )
    healthy_after: int = Field(
        1, gt=0, description="Good probes in a row that bring a down deployment back."
    )

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"health path must start with / (e.g. /models), not {path!r}")
        return path


class DeploymentConfig(_Section):
    """One concrete place a model runs: a provider, an endpoint, a model name, a region."""

    name: str = Field(..., min_length=1, description="Unique name; models refer to it.")
    provider: ProviderName = Field(..., description="Wire protocol / adapter.")
    model: str = Field(..., min_length=1, description="Model name the upstream expects.")
    region: str = Field(..., description="One of the names under regions.")
    base_url: str | None = Field(
        None, validate_default=True, description="Upstream base URL, e.g. http://gpu1:8000/v1."
    )
    api_key: SecretStr | None = Field(None, description="Literal, ${ENV} or file:/path.")
    price: PriceConfig = PriceConfig()
    timeouts: TimeoutsConfig = TimeoutsConfig()
    max_concurrency: int = Field(256, gt=0, description="Most calls in flight to this deployment.")
    max_queue: int = Field(
        32,
        ge=0,
        description="Calls that wait for a slot once every deployment of the model is at "
        "max_concurrency; beyond it keel sheds load with 503 and retry-after.",
    )
    queue_timeout_s: float = Field(
        5.0, gt=0, description="Longest wait in that queue (the request's deadline also bounds it)."
    )
    retries: int = Field(
        2,
        ge=0,
        description="Extra tries on this deployment after a 429/5xx/reset, before the next.",
    )
    backoff_s: float = Field(
        0.1, gt=0, description="First retry's backoff cap; doubles each retry (full jitter)."
    )
    backoff_max_s: float = Field(2.0, gt=0, description="Largest backoff cap.")
    breaker: BreakerConfig = BreakerConfig()
    prefill: bool = Field(
        False,
        description="Continues a partial assistant message sent as the last message: a broken "
        "stream is resumed here from what the client already has, instead of re-run.",
    )
    prefill_body: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra body fields for such a continuation, e.g. vLLM's "
        "{continue_final_message: true, add_generation_prompt: false}.",
    )
    health: HealthConfig = HealthConfig()
    sim: SimConfig = SimConfig()

    @field_validator("base_url")
    @classmethod
    def _needs_base_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("provider") == "openai" and not url:
            raise ValueError("an openai deployment needs base_url (e.g. http://host:8000/v1)")
        return url


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


class ModelConfig(_Section):
    """A logical model: the name clients ask for, served by one or more deployments."""

    deployments: list[str] = Field(
        ..., min_length=1, description="Deployment names, in priority order. A bare list works too."
    )
    strategy: Literal["priority", "weighted", "least-busy", "least-cost", "least-latency"] = Field(
        "priority", description="Which deployment goes first; the rest are the failover order."
    )
    weights: dict[str, float] = Field(
        default_factory=dict, description="weighted: share per deployment name (default 1)."
    )
    on_error: ErrorPolicy = ErrorPolicy()
    context_fallback: str | None = Field(
        None,
        description="A logical model with a larger context, asked at once when a deployment "
        "here reports the context length exceeded.",
    )
    stream_recovery: bool = Field(
        True,
        description="Resume a stream that breaks mid-answer on the next deployment (prefill, "
        "or a re-run whose start matches what was sent); else end it with an error event.",
    )
    rollout: RolloutConfig | None = Field(None, description="Canary or A/B split; see below.")
    shadow: ShadowConfig | None = Field(None, description="Shadow traffic; see below.")
    description: str = Field("", description="Free text.")

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, value: Any) -> Any:
        return {"deployments": value} if isinstance(value, list) else value


class TeamConfig(_Section):
    """A team: who may call which logical models. Keys are made with ``keel keys create``."""

    models: list[str] = Field(default_factory=lambda: ["*"], description='Logical models, or "*".')
    api_keys: list[SecretStr] = Field(
        default_factory=list, description="Keys defined in config (e.g. ${ENV}); prefer keel keys."
    )

    def may_use(self, model: str) -> bool:
        return "*" in self.models or model in self.models


class AuditConfig(_Section):
    """The tamper-evident audit trail: a record of every request in a SHA-256 hash chain per
    gateway process, and that chain's head signed (Ed25519) every ``checkpoint_s``. Prompts
    and answers are kept as hashes. ``keel audit verify`` checks it."""

    enabled: bool = Field(True, description="Keep the audit trail.")
    signing_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key, PEM or base64 of its 32 bytes: literal, ${ENV} or "
        "file:/path. Unset: keel makes one next to the SQLite file (else in .keel/) as "
        "audit-ed25519.pem, mode 0600, and warns.",
    )
    key_id: str | None = Field(
        None,
        min_length=1,
        description="The signing key's name in each checkpoint (default: ed25519: and 16 hex "
        "digits of its public key's SHA-256). A new key gets a new key_id.",
    )
    verify_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Earlier signing keys' public keys (PEM or base64) by key_id, so "
        "checkpoints signed before a rotation still verify.",
    )
    checkpoint_s: float = Field(
        60.0,
        gt=0,
        description="Seconds between signed checkpoints of each chain head; written when idle "
        "too, at start and at shutdown.",
    )

    @field_validator("signing_key")
    @classmethod
    def _private_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            from keel.audit.keys import load_private

            load_private(key.get_secret_value())
        return key

    @field_validator("verify_keys")
    @classmethod
    def _public_keys(cls, keys: dict[str, str]) -> dict[str, str]:
        from keel.audit.keys import load_public

        for key_id, text in keys.items():
            try:
                load_public(text)
            except ValueError as exc:
                raise ValueError(f"verify_keys[{key_id!r}]: {exc}") from None
        return keys


class KeelConfig(_Section):
    """The whole of ``keel.yaml``."""

    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    state: StateConfig = StateConfig()
    regions: dict[str, RegionConfig] = Field(default_factory=dict)
    deployments: list[DeploymentConfig] = Field(default_factory=list)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    teams: dict[str, TeamConfig] = Field(default_factory=dict)
    audit: AuditConfig = AuditConfig()

    def deployment(self, name: str) -> DeploymentConfig:
        for deployment in self.deployments:
            if deployment.name == name:
                return deployment
        raise KeyError(name)
