"""What routing follows of a stream it relays (``Router._relay``): the text sent on so far, so
that a fallback can continue from it; whether it finished or called a tool; an error it
reported. A stream that ends otherwise than finished is broken, and is resumed where it can be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keel.answer import Event, calls_a_tool, choice_text
from keel.call import Call
from keel.errors import KeelError, StreamBroken, UpstreamError
from keel.providers.base import UpstreamReply

__all__ = ["Progress"]


class Progress:
    """What routing needs to know of a stream so far: the text sent on (a fallback continues
    from it; kept only where there is one to continue on), whether it finished or called a
    tool, and an error it reported."""

    def __init__(
        self, keeps_text: bool = True, finishes: Callable[[dict[str, Any]], bool] | None = None
    ) -> None:
        self.keeps_text = keeps_text
        # A stream not of chat chunks: its protocol's reader says when it finished.
        self.finishes = finishes
        self.parts: list[str] = []
        self.tool_calls = False
        self.finished = False
        self.error: dict[str, Any] | None = None

    def see(self, events: list[Event]) -> None:
        # On every chunk of every stream: the loop is written out, with no call per choice.
        keeps_text = self.keeps_text
        finishes = self.finishes
        for event in events:
            data = event.data
            if data is None:
                continue
            error = data.get("error")
            if type(error) is dict:
                self.error = error
                continue
            if finishes is not None:
                self.finished = self.finished or finishes(data)
                continue
            for choice in data.get("choices") or ():
                if type(choice) is not dict:
                    continue
                if choice.get("finish_reason"):
                    self.finished = True
                if not keeps_text:
                    continue
                delta = choice.get("delta")  # a chat chunk's text, read here without a call
                text = delta.get("content") if type(delta) is dict else None
                if type(text) is not str:
                    text = choice_text(choice)
                if text:
                    self.parts.append(text)
                elif calls_a_tool(choice):  # only a chunk without text can carry a tool call
                    self.tool_calls = True

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def resumable(self) -> bool:
        """Only text can be continued from where it broke; a half-sent tool call cannot."""
        return bool(self.parts) and not self.tool_calls and not self.finished

    def failure(self, reply: UpstreamReply, call: Call) -> KeelError | None:
        """Why the stream that just ended is not a whole answer, or None if it is."""
        if self.error is not None:
            message = self.error.get("message", "unknown error")
            return UpstreamError(f"Deployment {call.deployment} failed mid-stream: {message}")
        if not self.finished and not reply.done:
            return StreamBroken(
                f"Deployment {call.deployment} ended the stream before the answer was finished. "
                "The answer above is incomplete; retry the request."
            )
        return None
