"""The ``tracing:`` section of ``keel.yaml``: OpenTelemetry spans per call, exported over
OTLP/HTTP (docs/monitoring.md, Traces)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["TracingConfig"]


class TracingConfig(BaseModel):
    """Traces of every call: a root span, one per stage, one per upstream attempt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        False,
        description="Make spans and export them. Off, no span is made and a client's "
        "traceparent still goes upstream untouched.",
    )
    endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces (none: "
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else http://localhost:4318/v1/traces).",
    )
    service_name: str = Field("keel", min_length=1, description="The service.name resource.")
    sample_ratio: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of new traces kept; a client's traceparent decides for its own.",
    )
    stage_spans: bool = Field(
        True,
        description="A span per pipeline stage; off, only the call's, the route's and the "
        "attempts' (about half the cost).",
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Headers of every export request (a collector's credentials).",
    )
    timeout_s: float = Field(10.0, gt=0, description="One export request's timeout.")
    batch_delay_s: float = Field(
        5.0, gt=0, description="Longest a finished span waits before it is exported."
    )
    max_queue: int = Field(
        2048,
        gt=0,
        description="Finished spans waiting for export, at most; beyond, new ones are dropped.",
    )
