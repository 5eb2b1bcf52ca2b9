"""The config reference in Markdown, generated from the schema (docs/config.md embeds it)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from keel.config.finops import (
    AlertsConfig,
    BudgetConfig,
    RateLimitConfig,
    UseCaseConfig,
    WebhookConfig,
)
from keel.config.monitors import (
    DriftMonitorConfig,
    EmbeddingDriftConfig,
    MonitorsConfig,
    QualityMonitorConfig,
)
from keel.config.policies import FeedbackRollbackConfig
from keel.config.schema import (
    AnthropicConfig,
    AuditConfig,
    AutoRollbackConfig,
    AwsConfig,
    AzureConfig,
    BreakerConfig,
    DeploymentConfig,
    ErrorPolicy,
    HealthConfig,
    KeelConfig,
    ModelConfig,
    PredictiveConfig,
    PredictiveModelConfig,
    PriceConfig,
    QualityRollbackConfig,
    RegionConfig,
    RolloutConfig,
    ServerConfig,
    ShadowConfig,
    SimConfig,
    StateConfig,
    StoreConfig,
    TeamConfig,
    TimeoutsConfig,
)
from keel.config.security import (
    AuthConfig,
    DataClassConfig,
    InjectionPolicy,
    LimitsConfig,
    OIDCConfig,
    PIIPolicy,
    RecogniserConfig,
    SecretsPolicy,
)
from keel.config.tracing import TracingConfig

__all__ = ["markdown_reference"]

_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("server", ServerConfig),
    ("store", StoreConfig),
    ("state", StateConfig),
    ("regions.<name>", RegionConfig),
    ("deployments[]", DeploymentConfig),
    ("deployments[].price", PriceConfig),
    ("deployments[].timeouts", TimeoutsConfig),
    ("deployments[].breaker", BreakerConfig),
    ("deployments[].health", HealthConfig),
    ("deployments[].sim", SimConfig),
    ("deployments[].anthropic", AnthropicConfig),
    ("deployments[].azure", AzureConfig),
    ("deployments[].aws", AwsConfig),
    ("models.<name>", ModelConfig),
    ("models.<name>.on_error", ErrorPolicy),
    ("models.<name>.rollout", RolloutConfig),
    ("models.<name>.rollout.auto_rollback", AutoRollbackConfig),
    ("models.<name>.rollout.auto_rollback.feedback", FeedbackRollbackConfig),
    ("models.<name>.shadow", ShadowConfig),
    ("teams.<name>", TeamConfig),
    ("data_classes.<name>", DataClassConfig),
    ("budgets[]", BudgetConfig),
    ("rate_limits[]", RateLimitConfig),
    ("use_cases.<name>", UseCaseConfig),
    ("alerts", AlertsConfig),
    ("alerts.webhooks[]", WebhookConfig),
    ("data_classes.<name>.pii", PIIPolicy),
    ("data_classes.<name>.secrets", SecretsPolicy),
    ("data_classes.<name>.pii.recognisers.<NAME>", RecogniserConfig),
    ("data_classes.<name>.injection", InjectionPolicy),
    ("auth", AuthConfig),
    ("auth.oidc", OIDCConfig),
    ("limits", LimitsConfig),
    ("audit", AuditConfig),
    ("predictive", PredictiveConfig),
    ("predictive.models.<name>", PredictiveModelConfig),
    ("tracing", TracingConfig),
    ("predictive.models.<name>.auto_rollback", QualityRollbackConfig),
    ("monitors.quality", QualityMonitorConfig),
    ("monitors", MonitorsConfig),
    ("monitors.drift", DriftMonitorConfig),
    ("monitors.embeddings", EmbeddingDriftConfig),
]


def markdown_reference() -> str:
    parts = [f"Top-level sections: {', '.join(f'`{k}`' for k in KeelConfig.model_fields)}."]
    for path, model in _SECTIONS:
        doc = " ".join((model.__doc__ or "").split())  # a docstring may wrap over lines
        parts.append(f"\n**`{path}`** — {doc}\n")
        parts.append("| field | type | default | meaning |\n|---|---|---|---|")
        parts += [_row(name, info) for name, info in model.model_fields.items()]
    return "\n".join(parts) + "\n"


def _row(name: str, info: FieldInfo) -> str:
    return f"| `{name}` | {_type(info.annotation)} | {_default(info)} | {info.description or ''} |"


def _type(annotation: Any) -> str:
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:  # a constrained type reads as the type itself
        return _type(args[0])
    if origin is typing.Literal:
        return " or ".join(f'"{a}"' for a in args)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type(a) for a in args)
    if origin is not None:
        return f"{origin.__name__} of {', '.join(_type(a) for a in args)}"
    if annotation is type(None):
        return "null"
    name: str = getattr(annotation, "__name__", str(annotation))
    return {"SecretStr": "secret"}.get(name, name)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return f"`{info.default_factory()}`"  # type: ignore[call-arg]
    if isinstance(info.default, BaseModel):
        return "see below"
    return f"`{info.default}`"
