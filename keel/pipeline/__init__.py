"""The request pipeline: ordered stages that read and add to one ``Call``.

``before`` runs in order and may stop the call by raising a ``KeelError``; ``after`` runs in
reverse order once the call is over, whether it succeeded or not. The pipeline never imports
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
        for stage in reversed(self.stages):
            await stage.after(call)
