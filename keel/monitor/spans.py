"""One call's spans, named and attributed after OpenTelemetry's GenAI semantic conventions.

A root span (SERVER, ``"{gen_ai.operation.name} {gen_ai.request.model}"``) per call, a child per
pipeline stage (``keel.<stage>``, ``keel.phase`` before or after; ``keel.route`` for routing
and invoking) and, under the route, a CLIENT span per upstream attempt whose context goes
upstream as its ``traceparent``. The root ends with the call: for a stream, when the stream ends.
Prompt and answer text go into the root (``gen_ai.input.messages``, ``gen_ai.output.messages``)
only when the call's data class says ``trace_text``.

Only keel.monitor.tracing makes these, and only when tracing is on: with it off, nothing
here is imported.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from keel.answer import choice_text

if TYPE_CHECKING:
    from keel.answer import Event
    from keel.call import Attempt, Call
    from keel.config.schema import DeploymentConfig

__all__ = ["AttemptSpan", "CallTrace", "StageSpan", "operation_name", "provider_name"]

log = logging.getLogger("keel.tracing")
_PROPAGATOR = TraceContextTextMapPropagator()

# gen_ai.operation.name of each endpoint (the conventions' names where they have one).
_OPERATIONS = {
    "chat": "chat",
    "messages": "chat",
    "responses": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "infer": "predict",
}
# gen_ai.provider.name of each adapter (the conventions' well-known values; keel's own else).
_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure-openai": "azure.ai.openai",
    "gemini": "gcp.gemini",
    "bedrock": "aws.bedrock",
    "sim": "keel.sim",
    "local-embeddings": "keel.local_embeddings",
}
# Request fields read into gen_ai.request.* attributes, when the client gave them.
_REQUEST_FIELDS = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("max_output_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("top_k", "gen_ai.request.top_k"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("seed", "gen_ai.request.seed"),
    ("n", "gen_ai.request.choice.count"),
)


def operation_name(endpoint: str) -> str:
    return _OPERATIONS.get(endpoint, endpoint)


def provider_name(provider: str) -> str:
    return _PROVIDERS.get(provider, provider)


def request_attributes(call: Call) -> dict[str, Any]:
    """The root span's attributes known when the call starts."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation_name(call.endpoint),
        "keel.request_id": call.id,
        "keel.endpoint": call.endpoint,
        "keel.stream": call.stream,
    }
    if call.model:
        attributes["gen_ai.request.model"] = call.model
    body = call.body
    for name, attribute in _REQUEST_FIELDS:
        value = body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[attribute] = value
    stop = body.get("stop")
    if isinstance(stop, str):
        attributes["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attributes["gen_ai.request.stop_sequences"] = stop
    return attributes


def outcome_attributes(call: Call) -> dict[str, Any]:
    """The root span's attributes once the call is over: who, where, how much, how it ended."""
    attributes: dict[str, Any] = {
        "http.response.status_code": call.status,
        "keel.attempts": len(call.attempts),
        "keel.cost_usd": call.cost_usd,
        "keel.overhead_ms": round(call.overhead_s() * 1000, 3),
    }
    principal = call.principal
    if principal is not None:
        attributes["keel.team"] = principal.team
        attributes["keel.key_id"] = principal.key_id
        if principal.project is not None:
            attributes["keel.project"] = principal.project
    for name, value in (
        ("keel.deployment", call.deployment),
        ("keel.region", call.region),
        ("keel.data_class", call.data_class),
        ("error.type", call.error),
    ):
        if value is not None:
            attributes[name] = value
    if call.guards:
        attributes["keel.guards"] = list(call.guards)
    usage = call.usage
    if usage is not None:
        attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
        attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
        if usage.cached_tokens:
            attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_tokens
        if usage.estimated:
            attributes["keel.usage.estimated"] = True
    return attributes


class Answered:
    """What the answer says of itself, read as it leaves: the model that answered, its id
    and why each choice finished (an OpenAI-shaped answer or chunk, Anthropic's, Responses')."""

    __slots__ = ("finish_reasons", "id", "model", "texts")

    def __init__(self) -> None:
        self.model: str | None = None
        self.id: str | None = None
        self.finish_reasons: list[str] = []
        self.texts: list[str] = []  # a whole answer's texts, one per choice

    def see(self, data: dict[str, Any] | None, whole: bool = False) -> None:
        if data is None:
            return
        inner = data.get("message") or data.get("response")  # Anthropic's, Responses' events
        head = inner if isinstance(inner, dict) else data
        if self.model is None and isinstance(model := head.get("model"), str):
            self.model = model
        if self.id is None and isinstance(ident := head.get("id"), str):
            self.id = ident
        choices = data.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, dict) and isinstance(why := choice.get("finish_reason"), str):
                    self.finish_reasons.append(why)
                if whole:
                    self.texts.append(choice_text(choice))
        delta = data.get("delta")
        stop = head.get("stop_reason") or (
            delta.get("stop_reason") if type(delta) is dict else None
        )
        if isinstance(stop, str):
            self.finish_reasons.append(stop)

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        if self.model is not None:
            attributes["gen_ai.response.model"] = self.model
        if self.id is not None:
            attributes["gen_ai.response.id"] = self.id
        if self.finish_reasons:
            attributes["gen_ai.response.finish_reasons"] = self.finish_reasons
        return attributes


def text_attributes(call: Call, answered: Answered) -> dict[str, str]:
    """Prompt and answer, as the conventions' message lists (JSON): for data classes that
    allow text in traces only."""
    prompt = call.protocol.prompt(call.endpoint, call.body)
    messages: list[dict[str, Any]] = []
    if isinstance(prompt, dict) and "messages" in prompt:  # Anthropic's: system apart
        if prompt.get("system") is not None:
            messages.append(_message("system", prompt["system"]))
        prompt = prompt["messages"]
    if isinstance(prompt, list) and all(isinstance(m, dict) for m in prompt):
        messages += [_message(m.get("role", "user"), m.get("content")) for m in prompt]
    else:
        messages.append(_message("user", prompt))
    attributes = {"gen_ai.input.messages": orjson.dumps(messages).decode()}
    texts = [call.answer] if isinstance(call.answer, str) else answered.texts
    if texts:
        output = [_message("assistant", t) for t in texts]
        attributes["gen_ai.output.messages"] = orjson.dumps(output).decode()
    return attributes


def _message(role: Any, content: Any) -> dict[str, Any]:
    """A message as the conventions write it: a role and its parts."""
    blocks = content if isinstance(content, list) else [content]
    return {"role": role, "parts": [_part(block) for block in blocks]}


def _part(block: Any) -> Any:
    """A text part as ``{"type": "text", "content": ...}``; any other block as it is."""
    if isinstance(block, str):
        return {"type": "text", "content": block}
    if isinstance(block, dict) and block.get("type") == "text" and "text" in block:
        return {"type": "text", "content": block["text"]}
    return block


class StageSpan:
    """A stage's span, as a context manager: an error that stops the call is on it."""

    __slots__ = ("span",)

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def __enter__(self) -> StageSpan:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if error is not None:
            code = getattr(error, "code", None) or type(error).__name__
            self.span.set_attribute("error.type", code)
            self.span.set_status(Status(StatusCode.ERROR, code))
        self.span.end()


class AttemptSpan:
    """One upstream attempt's CLIENT span; ``context`` is what goes upstream with it."""

    __slots__ = ("context", "open", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        self.open = True
        # W3C trace context, written here: the propagator's inject costs a context object.
        context = span.get_span_context()
        parent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        self.context = {"traceparent": parent}
        if context.trace_state:
            self.context["tracestate"] = context.trace_state.to_header()

    def done(self, attempt: Attempt, streaming: bool) -> None:
        """The attempt answered or failed; a stream's span lasts until the stream ends."""
        if not streaming:
            self.close(attempt)

    def close(self, attempt: Attempt | None) -> None:
        if not self.open:
            return
        self.open = False
        span = self.span
        if attempt is not None:
            if attempt.status is not None:
                span.set_attribute("http.response.status_code", attempt.status)
            if attempt.error is not None:
                span.set_attribute("error.type", attempt.error)
                span.set_status(Status(StatusCode.ERROR, attempt.error))
        span.end()


_UNRECORDED = StageSpan(trace.INVALID_SPAN)  # stateless: shared by every unsampled call


class CallTrace:
    """The spans of one call."""

    __slots__ = (
        "_attempts",
        "_parent",
        "_route",
        "answered",
        "recording",
        "root",
        "text",
        "trace_id",
        "tracer",
    )

    def __init__(self, tracer: trace.Tracer, call: Call, text: frozenset[str]) -> None:
        self.tracer = tracer
        self.text = text  # the data classes whose prompts and answers may be in spans
        parent = None
        if call.traceparent is not None:
            carrier = {"traceparent": call.traceparent}
            if call.tracestate is not None:
                carrier["tracestate"] = call.tracestate
            parent = _PROPAGATOR.extract(carrier)
        operation = operation_name(call.endpoint)
        self.root = tracer.start_span(
            f"{operation} {call.model}" if call.model else operation,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=request_attributes(call),
        )
        self._parent: Context = trace.set_span_in_context(self.root)
        self._route: Context = self._parent
        self._attempts: list[tuple[AttemptSpan, int]] = []
        self.answered = Answered()
        self.trace_id = trace.format_trace_id(self.root.get_span_context().trace_id)
        # A trace not sampled makes no other span: the upstream gets the root's context.
        self.recording = self.root.is_recording()

    def stage(self, name: str, phase: str) -> StageSpan:
        if not self.recording:
            return _UNRECORDED
        attributes = {"keel.phase": phase}
        return StageSpan(self.tracer.start_span(name, self._parent, attributes=attributes))

    def route(self) -> StageSpan:
        """The span of routing and invoking: the parent of the attempts."""
        if not self.recording:
            return _UNRECORDED
        span = self.tracer.start_span("keel.route", self._parent)
        self._route = trace.set_span_in_context(span)
        return StageSpan(span)

    def attempt(self, call: Call, deployment: DeploymentConfig) -> AttemptSpan:
        """A span for the try about to go to ``deployment`` (the how-many-th to it)."""
        if not self.recording:
            return AttemptSpan(self.root)  # a span that records nothing: closing it is a no-op
        retry = sum(1 for a in call.attempts if a.deployment == deployment.name)
        operation = operation_name(call.endpoint)
        provider = provider_name(deployment.provider)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": deployment.model,
            "gen_ai.provider.name": provider,
            "gen_ai.system": provider,
            "keel.deployment": deployment.name,
            "keel.region": deployment.region,
            "keel.retry": retry,
        }
        if deployment.base_url:
            attributes.update(_server(deployment.base_url))
        span = self.tracer.start_span(
            f"{operation} {deployment.model}", self._route, SpanKind.CLIENT, attributes
        )
        attempt = AttemptSpan(span)
        self._attempts.append((attempt, len(call.attempts)))  # its record's index, once made
        return attempt

    def finish(self, call: Call) -> None:
        """The call is over: the open attempt spans (a stream's) and the root end."""
        for attempt, index in self._attempts:
            attempt.close(call.attempts[index] if index < len(call.attempts) else None)
        root = self.root
        if not self.recording:
            return
        try:
            root.set_attributes(outcome_attributes(call))
            root.set_attributes(self.answered.attributes())
            if call.data_class is not None and call.data_class in self.text:
                root.set_attributes(text_attributes(call, self.answered))
        except Exception:  # a trace never fails the call it describes
            log.warning("tracing: request %s: attributes not set", call.id, exc_info=True)
        if call.status >= 500:
            root.set_status(Status(StatusCode.ERROR, call.error or str(call.status)))
        root.end()

    def reader(self) -> Reader | None:
        """What reads the answer into the root span; None when nothing is recorded."""
        return Reader(self.answered) if self.recording else None


class Reader:
    """The outbound work that reads the answer into the root span, as the client gets it."""

    __slots__ = ("answered",)

    def __init__(self, answered: Answered) -> None:
        self.answered = answered

    def body(self, body: Event) -> None:
        self.answered.see(body.data, whole=True)

    def events(self, events: list[Event]) -> list[Event]:
        see = self.answered.see
        for event in events:
            see(event.data)
        return events

    def end(self) -> None:
        """Nothing is held: the root span ends with the call."""


def _server(base_url: str) -> dict[str, Any]:
    """server.address and server.port of an upstream's URL."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        return {}
    attributes: dict[str, Any] = {}
    if parts.hostname:
        attributes["server.address"] = parts.hostname
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme)
    if port is not None:
        attributes["server.port"] = port
    return attributes
