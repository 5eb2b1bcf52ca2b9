"""The request pipeline: ``Pipeline.run`` is the one place a call is orchestrated.

A call runs each stage's ``before`` in order (any may stop it by raising a ``KeelError``), then
the invoker (the router: route, retries, failover, queue, resume after a break), then each
stage's outbound work over the answer (``outbound``: the guard's rewriting, the meter), then
every stage's ``after`` in reverse order, exactly once, whatever happened: what a stage took,
it gives back, and the call is recorded. For a stream, ``after`` runs when the stream ends.
A stage has the parts it needs of the three: ``before``, ``outbound``, ``after``.

With a tracer (tracing on), each stage's ``before`` and ``after`` and the invoker run in spans
of their own (keel.pipeline.traced) under the call's root span, which ends with the call.

Nothing here knows HTTP: a protocol module at the edge turns its wire format into a ``Call``
and the ``Answer`` back into its wire format.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from keel.answer import Answer, Event, Events, Item, Items, Resumed
from keel.call import Call
from keel.errors import KeelError, PermissionDenied, StoreUnavailable, UpstreamError
from keel.monitor.metrics import Metrics
from keel.pipeline.traced import TracedAfter, TracedBefore, TracedInvoke

if TYPE_CHECKING:  # imported only when tracing is on (keel.gateway makes the tracer)
    from keel.monitor.tracing import Tracer

__all__ = [
    "After",
    "Before",
    "CallStream",
    "Holds",
    "Invoke",
    "Keeper",
    "Outbound",
    "Pipeline",
    "Stage",
    "Withheld",
    "Wraps",
]

log = logging.getLogger("keel.pipeline")

Invoke = Callable[[Call], Awaitable[Answer]]


@runtime_checkable
class Before(Protocol):
    """A stage that works on the call before it is invoked (and may stop it)."""

    async def before(self, call: Call) -> None: ...


@runtime_checkable
class After(Protocol):
    """A stage with work once the call is over: what it took, given back; the record."""

    async def after(self, call: Call) -> None: ...


class Outbound(Protocol):
    """A stage's work on one call's answer on its way out."""

    def body(self, body: Event) -> None:
        """A whole answer: read it, or change it in place."""

    def events(self, events: list[Event]) -> list[Event]:
        """Events of a stream that arrived together: the ones to send on (changed in place)."""

    def end(self) -> None:
        """The stream ended, however it ended."""


@runtime_checkable
class Holds(Protocol):
    """Outbound work that may hold back part of a stream (the data guards)."""

    def drain(self) -> list[Event]:
        """The stream broke upstream: events with what is held, as it may leave."""
        ...


class Keeper(Outbound, Protocol):
    """What the edge keeps of a call's answer (``call.keep``; a stored Response): it reads
    the answer after every stage's outbound work, as the client gets it, and the account
    stage commits its ``row`` in the one transaction of the call's usage and audit records,
    before the client gets the answer."""

    def row(self, call: Call) -> dict[str, Any] | None:
        """The row to commit with the call's records; None when there is nothing to keep."""


@runtime_checkable
class Wraps(Protocol):
    """A stage that works on the answer."""

    def outbound(self, call: Call) -> Outbound | None: ...


Stage = Before | After | Wraps


class Withheld(PermissionDenied):
    """An outbound stage (``stage``) stopped a stream: ``before`` are the events it lets out
    first (the text before a blocked secret); they go on through the stages after it."""

    def __init__(
        self, message: str, *, code: str | None, before: list[Event], stage: Outbound
    ) -> None:
        super().__init__(message, code=code)
        self.before = before
        self.stage = stage


class Pipeline:
    def __init__(
        self,
        stages: Sequence[Stage],
        invoke: Invoke,
        copy: Callable[[Call], None] | None = None,
        metrics: Metrics | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.stages = tuple(stages)
        self.befores: tuple[Before, ...] = tuple(s for s in self.stages if isinstance(s, Before))
        self.wrapping = tuple(s for s in self.stages if isinstance(s, Wraps))
        self.afters: tuple[After, ...] = tuple(
            s for s in reversed(self.stages) if isinstance(s, After)
        )
        self.invoke = invoke
        self.copy = copy  # shadow copies, once the call has its upstream answer
        self.metrics = metrics
        self.tracer = tracer
        if tracer is not None:  # the route in a span; each stage too unless told not to
            if tracer.stage_spans:
                self.befores = tuple(TracedBefore(s) for s in self.befores)
                self.afters = tuple(TracedAfter(s) for s in self.afters)
            self.invoke = TracedInvoke(invoke)

    async def run(self, call: Call, refused: KeelError | None = None) -> Answer:
        """The call's answer: a whole body, a stream, or the error the client is told.
        ``refused``: the edge could not read the request; it is recorded like any refusal."""
        metrics = self.metrics
        if metrics is not None:
            metrics.in_flight.inc()
        if self.tracer is not None:
            self.tracer.start(call)
        failure: KeelError | None = None
        streams = False
        try:
            if refused is not None:
                raise refused
            for stage in self.befores:
                await stage.before(call)
            answer = await self.invoke(call)
            if self.copy is not None:
                self.copy(call)
            outbound = [o for s in self.wrapping if (o := s.outbound(call)) is not None]
            if call.keep is not None:  # last: it keeps what the client gets
                outbound.append(call.keep)
            if call.trace is not None and (reader := call.trace.reader()) is not None:
                outbound.append(reader)  # reads the answer into the call's span
            if answer.events is not None:
                streams = True
                stream = Answer()
                relay = CallStream(self, call, answer.events, outbound, stream)
                stream.events = Items(relay.items(), relay.abandon)
                return stream
            if answer.body is not None:  # (a prediction's tensors are for the protocol alone)
                for out in outbound:
                    out.body(answer.body)
        except KeelError as exc:
            failure = exc
        except Exception as exc:
            failure = _internal(call, exc)
        finally:
            if metrics is not None and not streams:
                metrics.in_flight.dec()
        if failure is None:
            # Without its record, the answer is withheld.
            problem = await self.end(call)
            return answer if problem is None else Answer(error=problem)
        if not isinstance(failure, StoreUnavailable):  # else it cannot be recorded either
            call.status, call.error = failure.status, failure.code
            await self.end(call)  # if even this cannot be recorded, the client is told why
        elif call.trace is not None:
            call.trace.finish(call)
        return Answer(error=failure)

    async def end(self, call: Call) -> KeelError | None:
        """End the call: every stage's ``after``, in reverse order, each even if one before it
        raised (what a stage took, it gives back). The one place they run. The first error
        raised, as the client is to be told it (the record could not be committed)."""
        failed: KeelError | None = None
        for stage in self.afters:
            try:
                await stage.after(call)
            except KeelError as exc:
                failed = failed or exc
            except Exception as exc:
                failed = failed or _internal(call, exc)
        if call.trace is not None:  # the call's span ends with it
            call.trace.finish(call)
        return failed


class CallStream:
    """A call's stream through each stage's outbound work. The call ends (its ``after``
    runs) when the stream does: at its last item, or when it is closed, before or during its
    iteration; a stream closed or cancelled early is a client that went away (499)."""

    def __init__(
        self,
        pipeline: Pipeline,
        call: Call,
        source: Events,
        outbound: list[Outbound],
        answer: Answer,
    ) -> None:
        self.pipeline = pipeline
        self.call = call
        self.source = source
        self.outbound = outbound
        self.answer: Answer | None = answer
        self._ended = False

    async def items(self) -> AsyncGenerator[Item, None]:
        call, metrics = self.call, self.pipeline.metrics
        failure: KeelError | None = None
        try:
            async for item in self.source:
                if isinstance(item, Resumed):
                    if metrics is not None:
                        metrics.resumed.labels(item.broken, item.target, item.kind).inc()
                    yield item
                    continue
                for out in self.outbound:
                    item = out.events(item)
                if item:
                    yield item
        except KeelError as exc:  # it broke and could not be resumed
            failure = exc
        except (asyncio.CancelledError, GeneratorExit):  # the client went away
            call.status, call.error = 499, "client_disconnected"
        except Exception as exc:
            failure = _internal(call, exc)
        held = self._held() if isinstance(failure, UpstreamError) else self._before(failure)
        try:
            if held:  # before the error event: what the client would have had by the break
                yield held
        finally:
            await self._end(failure)

    def _held(self) -> list[Event]:
        """What the stages held back when the stream broke, through the stages after them."""
        events: list[Event] = []
        try:
            for out in self.outbound:
                if events:
                    events = out.events(events)
                if isinstance(out, Holds):
                    events = [*events, *out.drain()]
        except KeelError:  # a guard refused what was held: it stays held
            return []
        return events

    def _before(self, failure: KeelError | None) -> list[Event]:
        """What a stage that stopped the stream lets out first, through the stages after it."""
        if not isinstance(failure, Withheld) or not failure.before:
            return []
        events = failure.before
        try:
            for out in self.outbound[self.outbound.index(failure.stage) + 1 :]:
                events = out.events(events)
        except KeelError:
            return []
        return events

    async def abandon(self) -> None:
        """Closed before its first item: the client went before the first event."""
        self.call.status, self.call.error = 499, "client_disconnected"
        await self._end(None)

    async def _end(self, failure: KeelError | None) -> None:
        """Close the upstream, let each stage see the end, record the call: once."""
        if self._ended:
            return
        self._ended = True
        call = self.call
        try:
            await self.source.aclose()
            for out in self.outbound:
                out.end()
            if failure is not None:  # a refusal mid-stream keeps its status in the record
                call.status = failure.status if failure.status < 500 else 502
                call.error = failure.code
            problem = await self.pipeline.end(call)
            assert self.answer is not None
            self.answer.ended = failure or problem
            self.answer = None  # the answer refers to this stream: no cycle left for the collector
        finally:
            if self.pipeline.metrics is not None:
                self.pipeline.metrics.in_flight.dec()


def _internal(call: Call, exc: Exception) -> KeelError:
    log.error("request %s failed inside keel", call.id, exc_info=exc)
    return KeelError(f"Internal error in keel ({type(exc).__name__}); it is logged.")
