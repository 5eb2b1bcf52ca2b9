"""The request pipeline: ordered stages that read and add to one ``Call``.

``before`` runs in order and may stop the call by raising a ``KeelError``; ``after`` runs in
reverse order once the call is over, whether it succeeded or not. Every stage's ``after``
runs even if a later one raised (what a stage took, it gives back); the first error is then
raised. The pipeline never imports
Starlette: the HTTP edge translates requests into calls and answers back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from keel.call import Call

__all__ = ["Pipeline", "Stage"]


class Stage(Protocol):
    async def before(self, call: Call) -> None: ...

    async def after(self, call: Call) -> None: ...


class Pipeline:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)

    async def before(self, call: Call) -> None:
        for stage in self.stages:
            await stage.before(call)

    async def after(self, call: Call) -> None:
        failed: BaseException | None = None
        for stage in reversed(self.stages):
            try:
                await stage.after(call)
            except Exception as exc:
                failed = failed or exc
        if failed is not None:
            raise failed
