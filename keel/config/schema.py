"""The shape of ``keel.yaml``. Every section refuses fields it does not know."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from keel.config.anthropic import ANTHROPIC_BASE_URL, AnthropicConfig
from keel.config.clouds import AwsConfig, AzureConfig, aws_section, azure_section
from keel.config.finops import (
    AlertsConfig,
    BudgetConfig,
    PriceConfig,
    RateLimitConfig,
    StateConfig,
    UseCaseConfig,
)
from keel.config.monitors import MonitorsConfig
from keel.config.policies import (
    AutoRollbackConfig,
    ErrorPolicy,
    RolloutConfig,
    ShadowConfig,
)
from keel.config.prices import Price, resolve
from keel.config.security import AuditConfig, AuthConfig, DataClassConfig, LimitsConfig, Trust
from keel.config.tracing import TracingConfig

__all__ = [
    "AlertsConfig",
    "AnthropicConfig",
    "AuditConfig",
    "AutoRollbackConfig",
    "AwsConfig",
    "AzureConfig",
    "BreakerConfig",
    "BudgetConfig",
    "DeploymentConfig",
    "ErrorPolicy",
    "HealthConfig",
    "KeelConfig",
    "ModelConfig",
    "PriceConfig",
    "RateLimitConfig",
    "RegionConfig",
    "RolloutConfig",
    "ServerConfig",
    "ShadowConfig",
    "SimConfig",
    "StateConfig",
    "StoreConfig",
    "TeamConfig",
    "TimeoutsConfig",
    "TracingConfig",
    "UseCaseConfig",
]

ProviderName = Literal[
    "openai", "anthropic", "sim", "local-embeddings", "azure-openai", "gemini", "bedrock"
]


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
        False,
        description="Demo mode (set by the demo config): refuse to bind beyond loopback, print "
        "the demo's snippets, and at the first start train and register the predictive model "
        "demo-classifier.",
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


class RegionConfig(_Section):
    """A place where deployments run, under a jurisdiction and a level of trust."""

    jurisdiction: str = Field("", description="Whose law applies, e.g. EU, DE, US.")
    trust: Trust = Field(
        "public-cloud", description="on-prem, private-cloud, public-cloud or edge."
    )
    description: str = Field("", description="Free text.")


class TimeoutsConfig(_Section):
    """Upstream timeouts in seconds. Missing the first byte or the first token is a silent
    deployment (the next one is tried at once); a stall between chunks is a broken stream."""

    connect_s: float = Field(5.0, gt=0, description="TCP connect (and TLS) to the upstream.")
    first_byte_s: float = Field(60.0, gt=0, description="Until the upstream's response headers.")
    first_token_s: float = Field(
        15.0,
        gt=0,
        description="Streams: from sending the request to the first token (headers included). "
        "A call without stream waits first_byte_s for the whole answer instead.",
    )
    between_chunks_s: float = Field(
        30.0, gt=0, description="Longest silence between two reads of an answer or a stream."
    )
    total_s: float = Field(600.0, gt=0, description="Whole upstream call, stream included.")


_CAPPED_TIMEOUTS = ("connect_s", "first_byte_s", "first_token_s", "between_chunks_s")


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
    prompt_cache: bool = Field(
        False,
        description="Report the leading messages of a prompt seen before as cached tokens "
        "(usage.prompt_tokens_details.cached_tokens), like an upstream's prefix cache.",
    )


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
        "/models",
        description="GET base_url + path; any 2xx is healthy (openai provider; anthropic: "
        "/v1/models unless set).",
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
        None,
        validate_default=True,
        description="Upstream base URL, e.g. http://gpu1:8000/v1; anthropic: default "
        f"{ANTHROPIC_BASE_URL}, requests go to base_url/v1/messages; azure-openai: the "
        "resource endpoint (https://NAME.openai.azure.com); gemini and bedrock: the cloud's "
        "own unless set.",
    )
    api_key: SecretStr | None = Field(
        None,
        validate_default=True,
        description="Literal, ${ENV} or file:/path. Sent as a bearer token (openai), x-api-key "
        "(anthropic), the api-key header (azure-openai) or x-goog-api-key (gemini).",
    )
    price: PriceConfig = PriceConfig()
    timeout_s: float | None = Field(
        None,
        gt=0,
        description="Shorthand for timeouts: total_s = timeout_s, and connect_s, first_byte_s, "
        "first_token_s and between_chunks_s at most timeout_s; those set under timeouts win.",
    )
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
    responses_api: bool = Field(
        False,
        description="openai only: the upstream serves OpenAI's Responses API at "
        "base_url/responses, so /v1/responses calls go to it natively, not translated to Chat "
        "Completions. keel keeps the chain: the upstream gets the whole conversation as input, "
        "with store false and no previous_response_id.",
    )
    health: HealthConfig = HealthConfig()
    sim: SimConfig = SimConfig()
    anthropic: AnthropicConfig = AnthropicConfig()
    azure: AzureConfig | None = Field(
        None, validate_default=True, description="azure-openai only; see below."
    )
    aws: AwsConfig | None = Field(
        None, validate_default=True, description="bedrock only; see below."
    )

    @cached_property
    def prices(self) -> Price:
        """``price`` resolved against the bundled price list."""
        return resolve(self.price)

    @model_validator(mode="before")
    @classmethod
    def _timeout_shorthand(cls, value: Any) -> Any:
        """Fill ``timeouts`` from ``timeout_s``, under the fields set there explicitly."""
        if not isinstance(value, dict):
            return value
        total, own = value.get("timeout_s"), value.get("timeouts")
        own = {} if own is None else own
        if isinstance(total, bool) or not isinstance(total, int | float) or total <= 0:
            return value  # absent, or wrong: the field itself reports it
        if not isinstance(own, dict):
            return value
        fields = TimeoutsConfig.model_fields
        derived: dict[str, Any] = {
            name: min(float(fields[name].default), total) for name in _CAPPED_TIMEOUTS
        }
        return {**value, "timeouts": {**derived, "total_s": total, **own}}

    @field_validator("base_url")
    @classmethod
    def _needs_base_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        provider = info.data.get("provider")
        if provider == "openai" and not url:
            raise ValueError("an openai deployment needs base_url (e.g. http://host:8000/v1)")
        if provider == "anthropic" and not url:
            return ANTHROPIC_BASE_URL
        if provider == "azure-openai" and not url:
            raise ValueError(
                "an azure-openai deployment needs base_url: the resource endpoint, "
                "e.g. https://my-resource.openai.azure.com"
            )
        return url

    @field_validator("api_key")
    @classmethod
    def _needs_api_key(cls, key: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("provider") == "gemini" and key is None:
            raise ValueError("a gemini deployment needs api_key (e.g. ${GEMINI_API_KEY})")
        return key

    @field_validator("responses_api")
    @classmethod
    def _responses_api(cls, native: bool, info: ValidationInfo) -> bool:
        provider = info.data.get("provider")
        if native and provider != "openai":
            raise ValueError(
                f"responses_api is for openai deployments (an OpenAI-compatible server with a "
                f"/responses route); a {provider} deployment's /v1/responses calls are translated"
            )
        return native

    @field_validator("azure")
    @classmethod
    def _azure(cls, azure: AzureConfig | None, info: ValidationInfo) -> AzureConfig | None:
        return azure_section(azure, info.data)

    @field_validator("aws")
    @classmethod
    def _aws(cls, aws: AwsConfig | None, info: ValidationInfo) -> AwsConfig | None:
        return aws_section(aws, info.data)


class ModelConfig(_Section):
    """A logical model: the name clients ask for, served by one or more deployments."""

    deployments: list[str] = Field(
        ...,
        min_length=1,
        description="Deployment names (deployments[].name, not models), in priority order. "
        "A bare list works too.",
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
        description="A logical model (a name under models, not a deployment) with a larger "
        "context, asked at once when a deployment here reports the context length exceeded.",
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
    data_class: str | None = Field(
        None, description="The class of the team's data (none: no residency rule applies)."
    )

    def may_use(self, model: str) -> bool:
        return "*" in self.models or model in self.models


class PredictiveModelConfig(_Section):
    """How keel serves one registered predictive model (keel models register): its runs,
    adaptive batching (off unless max_batch_size is set), and what a prediction costs: a price
    per request plus one per row, known before the run from the rows asked, so a hard budget
    reserves exactly what the prediction will cost."""

    max_batch_size: int | None = Field(
        None,
        gt=0,
        description="Merge concurrent requests into one run of at most this many rows (the "
        "first dimension); unset: each request runs alone.",
    )
    max_wait_ms: float = Field(
        2.0,
        ge=0,
        description="With batching, how long the first request of a batch waits for others; "
        "a request that cannot be answered within it and one run is refused (503).",
    )
    intra_op_threads: int = Field(1, gt=0, description="onnxruntime's threads per run.")
    inline_run_ms: float = Field(
        0.25,
        ge=0,
        description="A model whose run (of max_batch_size rows, else one) takes at most this "
        "long when timed at load runs on the event loop itself: a hop to a worker thread would "
        "cost more than the run. 0: always on its worker thread.",
    )
    price_per_prediction: float = Field(
        0.0, ge=0, description="US dollars per prediction answered (one request)."
    )
    price_per_row: float = Field(
        0.0,
        ge=0,
        description="US dollars per row answered: per entry of the inputs' first dimension "
        "(the largest of them).",
    )


class PredictiveConfig(_Section):
    """Predictive models served on the Open Inference Protocol v2 (/v2)."""

    models: dict[str, PredictiveModelConfig] = Field(
        default_factory=dict,
        description="Per registered model name; a model not named here is served with the "
        "defaults.",
    )
    artifact_root: str | None = Field(
        None,
        description="The directory model artifacts are kept in (unset: an artifacts directory "
        "next to the SQLite file, else .keel/artifacts). Replicas share artifacts through a "
        "shared volume mounted at the same path; s3://bucket/prefix is reserved for object "
        "storage, which this build does not have.",
    )
    max_artifact_bytes: int = Field(
        256 * 1024 * 1024,
        gt=0,
        description="Largest artifact POST /admin/models/{name}/versions accepts (413 beyond); "
        "keel models register has no limit.",
    )

    @field_validator("artifact_root")
    @classmethod
    def _local_root(cls, root: str | None) -> str | None:
        if root is None:
            return None
        if root.startswith("s3://"):
            raise ValueError(
                f"{root}: artifacts in S3 are not available in this build. Share artifacts "
                "between replicas with a shared volume (NFS, a ReadWriteMany volume) mounted "
                "at the same path on each, and set artifact_root to that path"
            )
        if "://" in root or not root.strip():
            raise ValueError(f"{root!r}: give a local directory, e.g. /var/lib/keel/artifacts")
        return root

    refresh_s: float = Field(
        0.5,
        gt=0,
        description="How often each process re-reads the aliases and rollouts of the models it "
        "serves (a change made anywhere is followed within about twice this).",
    )
    shadow_queue: int = Field(
        64,
        gt=0,
        description="Shadow predictions waiting to run, at most; beyond, a copy is dropped "
        "and counted (keel_shadow_dropped_total), never slowing the client.",
    )


class KeelConfig(_Section):
    """The whole of ``keel.yaml``."""

    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    state: StateConfig = StateConfig()
    regions: dict[str, RegionConfig] = Field(default_factory=dict)
    deployment_defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="Deployment fields merged into every deployment (nested sections field by "
        "field); a deployment's own value wins.",
    )
    deployments: list[DeploymentConfig] = Field(default_factory=list)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    teams: dict[str, TeamConfig] = Field(default_factory=dict)
    data_classes: dict[str, DataClassConfig] = Field(default_factory=dict)
    auth: AuthConfig = AuthConfig()
    limits: LimitsConfig = LimitsConfig()
    audit: AuditConfig = AuditConfig()
    budgets: list[BudgetConfig] = Field(default_factory=list)
    rate_limits: list[RateLimitConfig] = Field(default_factory=list)
    use_cases: dict[str, UseCaseConfig] = Field(default_factory=dict)
    alerts: AlertsConfig = AlertsConfig()
    predictive: PredictiveConfig = PredictiveConfig()
    monitors: MonitorsConfig = MonitorsConfig()
    tracing: TracingConfig = TracingConfig()

    def deployment(self, name: str) -> DeploymentConfig:
        for deployment in self.deployments:
            if deployment.name == name:
                return deployment
        raise KeyError(name)
