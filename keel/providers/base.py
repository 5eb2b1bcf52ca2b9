"""The one small base every provider adapter implements.

A provider is built once per deployment at start and shared by all calls. It knows one wire
protocol; it never imports the pipeline. It returns the upstream's answer as raw bytes (or, for a
stream, the raw ``data:`` payloads one by one) so keel forwards what the upstream said unchanged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from keel.answer import Event
from keel.call import Endpoint
from keel.config.schema import DeploymentConfig

__all__ = ["Provider", "UpstreamReply", "UpstreamRequest"]


@dataclass(slots=True)
class UpstreamRequest:
    endpoint: Endpoint
    body: dict[str, Any]  # the client's body, ``model`` already set to the deployment's model
    stream: bool
    request_id: str
    # The client's body as it came, where the edge kept it: a native pass-through edits only
    # ``model`` in it and sends every other byte as the client wrote it (None: ``body`` encoded).
    raw: bytes | None = None
    # The W3C trace context to send (traceparent, tracestate): the attempt's span, or the
    # client's as it came when tracing is off; None: no trace header.
    trace: dict[str, str] | None = None


@dataclass(slots=True)
class UpstreamReply:
    """A successful (2xx) upstream answer.

    Non-streaming: ``body`` is the JSON answer, byte for byte. Streaming: ``events`` yields, as
    they arrive, the SSE ``data:`` payloads (``[DONE]`` excluded) that arrived together: one
    network read, or one decoding step, may carry several, and keel forwards them in one write.
    It raises ``keel.errors.StreamBroken`` if the stream is cut, or stalls between two reads
    for longer than the limit last given to ``pace`` (None: no limit, as at first; the router
    waits for the first token under a timeout of its own, then sets the limit between chunks).
    ``done`` turns true once ``[DONE]`` is seen. ``prefetched`` holds what the router read
    before answering the client, as events. ``parsed``: ``events`` yields ``Event``s keel made
    (a translator's), not payloads to parse. ``answer``: the whole answer as an ``Event`` keel
    made (a translator's), in place of ``body``.
    """

    body: bytes = b""
    answer: Event | None = None
    events: AsyncIterator[list[bytes]] | AsyncIterator[list[Event]] | None = None
    parsed: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    done: bool = False
    pace: Callable[[float | None], None] | None = None
    prefetched: list[list[Event]] = field(default_factory=list)


class Provider(ABC):
    """An adapter for one deployment. Errors are raised as ``keel.errors.UpstreamError``s."""

    #: The endpoints this provider can serve.
    endpoints: frozenset[Endpoint] = frozenset({"chat", "completions", "embeddings"})
    #: Of those, the ones it serves by translating to its own wire format (the rest pass
    #: through in the client's protocol).
    translates: frozenset[Endpoint] = frozenset()

    def __init__(self, deployment: DeploymentConfig) -> None:
        self.deployment = deployment

    async def start(self) -> None:
        """Open pools, load models. Called once before the first request."""

    async def close(self) -> None:
        """Release what ``start`` took."""

    async def probe(self) -> str | None:
        """Is the deployment up? None when healthy, else a short reason ("HTTP 503"). An
        adapter with nothing to ask (in-process ones) is always healthy."""
        return None

    @abstractmethod
    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        """Send one request upstream and return its answer (raise ``UpstreamError`` on failure)."""
