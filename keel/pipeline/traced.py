"""The pipeline's stages as tracing sees them: each ``before`` and ``after`` in a span of its
own, routing and invoking in ``keel.route``. ``Pipeline`` puts these in place of its stages
only when it has a tracer, so with tracing off the stages run as they are."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from keel.answer import Answer
from keel.call import Call

if TYPE_CHECKING:
    from keel.pipeline import After, Before, Invoke

__all__ = ["TracedAfter", "TracedBefore", "TracedInvoke", "span_name"]

_WORDS = re.compile(r"(?<!^)(?=[A-Z])")


def span_name(stage: object) -> str:
    """``keel.<stage>`` from its class: Identify -> keel.identify, AdmitPredictions ->
    keel.admit_predictions."""
    return "keel." + _WORDS.sub("_", type(stage).__name__).lower()


class TracedBefore:
    __slots__ = ("name", "stage")

    def __init__(self, stage: Before) -> None:
        self.stage = stage
        self.name = span_name(stage)

    async def before(self, call: Call) -> None:
        if call.trace is None:
            await self.stage.before(call)
            return
        with call.trace.stage(self.name, "before"):
            await self.stage.before(call)


class TracedAfter:
    __slots__ = ("name", "stage")

    def __init__(self, stage: After) -> None:
        self.stage = stage
        self.name = span_name(stage)

    async def after(self, call: Call) -> None:
        if call.trace is None:
            await self.stage.after(call)
            return
        with call.trace.stage(self.name, "after"):
            await self.stage.after(call)


class TracedInvoke:
    """The invoker (the router) in the route span, which the attempts' spans hang from."""

    __slots__ = ("invoke",)

    def __init__(self, invoke: Invoke) -> None:
        self.invoke = invoke

    async def __call__(self, call: Call) -> Answer:
        if call.trace is None:
            return await self.invoke(call)
        with call.trace.route():
            return await self.invoke(call)
