"""One request, start to finish: the ``Call`` that flows through the pipeline's stages."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from keel.protocols.openai import OPENAI, PROMPT_FIELD

if TYPE_CHECKING:  # the types of stages' slots, for annotations alone (keel.pipeline imports this)
    from keel.guard.pii.policy import RequestGuard
    from keel.monitor.spans import CallTrace
    from keel.pipeline import Keeper
    from keel.pipeline.admission import Admission
    from keel.protocols.base import ClientProtocol
    from keel.runtime import Prediction

__all__ = [
    "CLIENT_ENDPOINTS",
    "PROMPT_FIELD",
    "Attempt",
    "Call",
    "Endpoint",
    "Kind",
    "Principal",
    "Usage",
]

Endpoint = Literal["chat", "completions", "embeddings", "infer", "messages", "responses"]
# The endpoints a client reaches LLM deployments by (infer is the predictive models').
CLIENT_ENDPOINTS: tuple[Endpoint, ...] = (
    "chat",
    "completions",
    "embeddings",
    "messages",
    "responses",
)
# What a call is: one a client made, or the copy of one sent to a shadow deployment.
Kind = Literal["call", "shadow"]


@dataclass(slots=True)
class Principal:
    """Who is calling: set by the identify stage."""

    team: str
    key_id: str
    models: tuple[str, ...]
    data_class: str | None = None  # the class of the caller's data (its key's, else its team's)
    user: str | None = None  # a token's user claim
    classes: tuple[str, ...] | None = None  # a scoped key or token: the only classes it may use
    project: str | None = None  # the key's project tag (budgets, ROI use cases)

    def may_use(self, model: str) -> bool:
        return "*" in self.models or model in self.models


@dataclass(slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    cached_tokens: int = 0  # of the prompt tokens, those the upstream read from its cache

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class Attempt:
    """One try at one upstream deployment; failed tries are kept, never billed."""

    deployment: str
    error: str | None
    duration_s: float
    status: int | None = None  # the upstream's HTTP status, when it answered with an error
    started: float = 0.0  # perf_counter when it was sent: a stream's attempt runs on past it


@dataclass(slots=True)
class Call:
    id: str
    endpoint: Endpoint
    body: dict[str, Any]
    model: str
    stream: bool
    started: float = field(default_factory=time.perf_counter)
    started_at: float = field(default_factory=time.time)
    credential: str | None = field(default=None, repr=False)  # the API key; never logged
    principal: Principal | None = None
    deployment: str | None = None
    region: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    data_class: str | None = None  # set by the classify stage; routing never leaves its regions
    asked_class: str | None = None  # the x-keel-data-class header, which may only be stricter
    pii: RequestGuard | None = None  # this request's PII guard (its pseudonyms span the answer)
    usage: Usage | None = None
    cost_usd: float = 0.0
    status: int = 200
    error: str | None = None
    upstream_s: float = 0.0
    ttft_s: float | None = None
    # The client asked for the usage chunk at the end of a stream (keel always asks upstream).
    client_wants_usage: bool = False
    finished: float | None = None
    deadline: float = math.inf  # perf_counter() time by which the call must be answered
    guards: list[str] = field(default_factory=list)  # the guards that fired, for the audit record
    # The answer as the client got it, for the audit record: the body, or a stream's text.
    answer: bytes | str | None = field(default=None, repr=False)
    audit_full_text: bool = False  # the audit record keeps prompt and answer, not just hashes
    admission: Admission | None = None  # what the admit stage took, given back after
    limit_headers: dict[str, str] | None = None  # x-ratelimit-* for the answer
    kind: Kind = "call"
    prediction: Prediction | None = field(default=None, repr=False)  # a predictive model's call
    copy_of: Call | None = field(default=None, repr=False)  # a shadow copy's call
    # How the stages read its bodies: the client's protocol (OpenAI's unless the edge says).
    protocol: ClientProtocol = field(default=OPENAI, repr=False)
    # The client's body as it came, while no stage has changed ``body``: an upstream that
    # speaks the client's protocol gets these bytes with only ``model`` changed.
    raw: bytes | None = field(default=None, repr=False)
    # What the edge keeps of the answer, committed with the call's records (a stored Response).
    keep: Keeper | None = field(default=None, repr=False)
    # The client's W3C trace context: keel's spans continue it; with tracing off, it goes
    # upstream untouched.
    traceparent: str | None = None
    tracestate: str | None = None
    trace: CallTrace | None = field(default=None, repr=False)  # its spans, when tracing is on

    def elapsed_s(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return end - self.started

    def remaining_s(self) -> float:
        return self.deadline - time.perf_counter()

    def overhead_s(self) -> float:
        """keel's own time: all of the call except the time spent waiting on upstreams."""
        return max(0.0, self.elapsed_s() - self.upstream_s)
