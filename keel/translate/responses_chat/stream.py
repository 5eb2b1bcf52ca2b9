"""A Chat Completions stream as an OpenAI Responses stream of typed events.

The first chunk brings ``response.created`` and ``response.in_progress``. Text opens a
``message`` item (``response.output_item.added``, ``response.content_part.added``) and each
piece is a ``response.output_text.delta``; a tool call opens a ``function_call`` item whose
argument pieces are ``response.function_call_arguments.delta``. An item closes when the next
opens or the choice finishes (``response.output_text.done``, ``response.content_part.done``
or ``response.function_call_arguments.done``, then ``response.output_item.done``). Once the
usage chunk that follows the finish is in (or the stream ends), ``response.completed`` (or
``response.incomplete``, for ``length`` and ``content_filter``) carries the whole response.
Every event has its ``sequence_number``, from 0. An upstream's error chunk becomes an ``error``
event (routing then ends the stream, and the edge says how it failed). Only the first choice
is translated (a response has one).
"""

from __future__ import annotations

from typing import Any

import orjson

from keel.translate.base import StreamTranslator
from keel.translate.responses_chat.response import (
    function_call_item,
    message_item,
    new_id,
    response_object,
    response_status,
    response_usage,
)

__all__ = ["ChunksToEvents"]


class ChunksToEvents(StreamTranslator):
    """One stream's state: the response so far, the open item, the finish and usage."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.sequence = 0
        self.response: dict[str, Any] | None = None
        self.output: list[dict[str, Any]] = []
        self.open: str | None = None  # "message", or "tool:<chat index>"
        self.finish: Any = None  # the choice's finish_reason, once it came
        self.usage: Any = None
        self.stopped = False

    def event(self, payload: bytes) -> list[bytes]:
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return [payload]  # the meter counts it and keeps it back
        if not isinstance(chunk, dict) or self.stopped:
            return []
        error = chunk.get("error")
        if isinstance(error, dict):  # routing reads it and ends the stream
            return [self._error(error)]
        out = self._start(chunk)
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            out.extend(self._choice(choices[0]))
        if self.finish is not None and self.usage is not None:
            out.extend(self._stop())
        return out

    def end(self, done: bool) -> list[bytes]:
        if self.stopped or (self.finish is None and not done):
            return []  # cut short: no finish to report; routing says it broke
        out = self._start({})
        out.extend(self._close())
        return [*out, *self._stop()]

    def _emit(self, kind: str, **fields: Any) -> bytes:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return orjson.dumps(event)

    def _error(self, error: dict[str, Any]) -> bytes:
        message = error.get("message")
        code, param = error.get("code"), error.get("param")
        return self._emit(
            "error",
            code=code if isinstance(code, str) else None,
            message=message if isinstance(message, str) else "The deployment failed.",
            param=param if isinstance(param, str) else None,
        )

    def _start(self, chunk: dict[str, Any]) -> list[bytes]:
        if self.response is not None:
            return []
        self.response = response_object(self.request, new_id("resp"), chunk.get("model"))
        created = self._emit("response.created", response=self.response)
        return [created, self._emit("response.in_progress", response=self.response)]

    def _choice(self, choice: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        delta = choice.get("delta")
        if isinstance(delta, dict):
            text = delta.get("content")
            if isinstance(text, str) and text:
                out.extend(self._text(text))
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    out.extend(self._tool(call))
        if choice.get("finish_reason"):
            self.finish = choice["finish_reason"]
            out.extend(self._close())
        return out

    def _text(self, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self.open != "message":
            out = self._close()
            item = message_item(new_id("msg"), "in_progress")
            out.append(self._added("message", item))
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            out.append(self._part_event("response.content_part.added", item, part))
            item["content"].append(part)
        item = self.output[-1]
        item["content"][0]["text"] += text
        where = self._where(item)
        delta = self._emit("response.output_text.delta", **where, delta=text, logprobs=[])
        return [*out, delta]

    def _tool(self, call: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        which = f"tool:{call.get('index', 0)}"
        if self.open != which:
            out = self._close()
            given, named = call.get("id"), function.get("name")
            call_id = given if isinstance(given, str) else new_id("call")
            name = named if isinstance(named, str) else ""
            out.append(self._added(which, function_call_item(call_id, name, "", "in_progress")))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item = self.output[-1]
            item["arguments"] += arguments
            event = "response.function_call_arguments.delta"
            out.append(
                self._emit(
                    event, item_id=item["id"], output_index=len(self.output) - 1, delta=arguments
                )
            )
        return out

    def _added(self, which: str, item: dict[str, Any]) -> bytes:
        self.open = which
        self.output.append(item)
        return self._emit(
            "response.output_item.added", output_index=len(self.output) - 1, item=item
        )

    def _where(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"item_id": item["id"], "output_index": len(self.output) - 1, "content_index": 0}

    def _part_event(self, kind: str, item: dict[str, Any], part: dict[str, Any]) -> bytes:
        return self._emit(kind, **self._where(item), part=part)

    def _close(self) -> list[bytes]:
        """The open item's closing events."""
        if self.open is None:
            return []
        item = self.output[-1]
        out: list[bytes] = []
        status, _ = response_status(self.finish)
        item["status"] = "completed" if status == "completed" else "incomplete"
        if self.open == "message":
            part = item["content"][0]
            where = self._where(item)
            out.append(
                self._emit("response.output_text.done", **where, text=part["text"], logprobs=[])
            )
            out.append(self._part_event("response.content_part.done", item, part))
        else:
            item["status"] = "completed"  # a call's arguments are whole once the next item opens
            out.append(
                self._emit(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=len(self.output) - 1,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        out.append(
            self._emit("response.output_item.done", output_index=len(self.output) - 1, item=item)
        )
        self.open = None
        return out

    def _stop(self) -> list[bytes]:
        self.stopped = True
        assert self.response is not None
        status, reason = response_status(self.finish)
        response = self.response
        response.update(status=status, output=self.output, usage=response_usage(self.usage))
        if reason is not None:
            response["incomplete_details"] = {"reason": reason}
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return [self._emit(kind, response=response)]
