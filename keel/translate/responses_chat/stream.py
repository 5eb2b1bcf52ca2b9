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

Chunks that arrived together (one network read) are translated together, and the pieces of
one item among them become one delta: the client gets them in one write either way, and each
event costs a guard pass, a meter read and a frame. The events are made as parsed ``Event``s,
so each upstream chunk is parsed once and each event encoded once, when it is sent; an event
never shares a dict that the translator changes later (each shows the stream as it was), and
the two that carry the response as it began share it, encoded once.
"""

from __future__ import annotations

from typing import Any

import orjson

from keel.answer import Event
from keel.translate.chat_chunks import ChatChunkStream
from keel.translate.responses_chat.response import (
    function_call_item,
    message_item,
    new_id,
    response_object,
    response_status,
    response_usage,
)

__all__ = ["ChunksToEvents"]

_TEXT_DELTA = "response.output_text.delta"
_ARGUMENTS_DELTA = "response.function_call_arguments.delta"
# How the two events of a response as it began start, encoded once: number, then response.
_BEGUN = (
    ("response.created", b'{"type":"response.created","sequence_number":'),
    ("response.in_progress", b'{"type":"response.in_progress","sequence_number":'),
)


class ChunksToEvents(ChatChunkStream):
    """One stream's state: the response as it began, the items so far, the open one and the
    pieces of its text (or arguments), the finish and usage."""

    def __init__(self, request: dict[str, Any]) -> None:
        super().__init__()
        self.request = request
        self.sequence = 0
        self.response: dict[str, Any] | None = None  # as it began; never changed
        self.output: list[dict[str, Any]] = []
        self.open: str | None = None  # "message", or "tool:<chat index>"
        self.pieces: list[str] = []  # the open item's text, or its arguments

    def _emit(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` numbered and sent, made by keel: never parsed, encoded when it is sent."""
        data["sequence_number"] = self.sequence
        self.sequence += 1
        self._add(Event.of(data))
        return data

    def _error(self, error: dict[str, Any]) -> None:
        message = error.get("message")
        code, param = error.get("code"), error.get("param")
        event = {
            "type": "error",
            "code": code if isinstance(code, str) else None,
            "message": message if isinstance(message, str) else "The deployment failed.",
            "param": param if isinstance(param, str) else None,
        }
        self._emit(event)

    def _start(self, chunk: dict[str, Any]) -> None:
        if self.response is not None:
            return
        response = self.response = response_object(self.request, new_id("resp"), chunk.get("model"))
        body = b',"response":' + orjson.dumps(response) + b"}"
        for kind, head in _BEGUN:
            number = self.sequence
            self.sequence += 1
            data = {"type": kind, "sequence_number": number, "response": response}
            self._add(Event.of(data, head + str(number).encode() + body))

    def _choice(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta")
        if type(delta) is dict:
            text = delta.get("content")
            if type(text) is str and text:
                self._text(text)
            for call in delta.get("tool_calls") or ():
                if type(call) is dict:
                    self._tool(call)
        finish = choice.get("finish_reason")
        if finish:
            self.finish = finish
            self._close()

    def _text(self, text: str) -> None:
        if self.open != "message":
            item = message_item(new_id("msg"), "in_progress")
            self._added("message", item)
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            where = self._where(item)
            self._emit({"type": "response.content_part.added", **where, "part": part})
        self._piece(_TEXT_DELTA, text)

    def _tool(self, call: dict[str, Any]) -> None:
        function = call.get("function")
        function = function if type(function) is dict else {}
        which = f"tool:{call.get('index', 0)}"
        if self.open != which:
            given, named = call.get("id"), function.get("name")
            call_id = given if isinstance(given, str) else new_id("call")
            name = named if isinstance(named, str) else ""
            self._added(which, function_call_item(call_id, name, "", "in_progress"))
        arguments = function.get("arguments")
        if type(arguments) is str and arguments:
            self._piece(_ARGUMENTS_DELTA, arguments)

    def _piece(self, kind: str, part: str) -> None:
        """One more piece of the open item: added to the batch's last delta if it is one."""
        self.pieces.append(part)
        piece = self.piece
        if piece is not None:
            piece["delta"] += part
            return
        item = self.output[-1]
        event: dict[str, Any] = {"type": kind, "item_id": item["id"]}
        event["output_index"] = len(self.output) - 1
        if kind == _TEXT_DELTA:
            event.update(content_index=0, delta=part, logprobs=[])
        else:
            event["delta"] = part
        self.piece = self._emit(event)

    def _added(self, which: str, item: dict[str, Any]) -> None:
        """Opens ``item``. The event shows it as it opens: a copy, since closing it sets its
        status and its text or arguments (each a field of its own, replaced)."""
        self._close()
        self.open = which
        self.pieces = []
        self.output.append(item)
        index = len(self.output) - 1
        self._emit({"type": "response.output_item.added", "output_index": index, "item": {**item}})

    def _where(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"item_id": item["id"], "output_index": len(self.output) - 1, "content_index": 0}

    def _close(self) -> None:
        """The open item's closing events."""
        if self.open is None:
            return
        item = self.output[-1]
        whole = "".join(self.pieces)
        if self.open == "message":
            status, _ = response_status(self.finish)
            item["status"] = "completed" if status == "completed" else "incomplete"
            part = {"type": "output_text", "text": whole, "annotations": [], "logprobs": []}
            item["content"] = [part]
            where = self._where(item)
            self._emit(
                {"type": "response.output_text.done", **where, "text": whole, "logprobs": []}
            )
            self._emit({"type": "response.content_part.done", **where, "part": part})
        else:
            item["status"] = "completed"  # a call's arguments are whole once the next item opens
            item["arguments"] = whole
            done = {"type": "response.function_call_arguments.done", "item_id": item["id"]}
            done.update(output_index=len(self.output) - 1, name=item["name"], arguments=whole)
            self._emit(done)
        index = len(self.output) - 1
        self._emit({"type": "response.output_item.done", "output_index": index, "item": item})
        self.open = None

    def _stop(self) -> None:
        self.stopped = True
        assert self.response is not None
        status, reason = response_status(self.finish)
        usage = response_usage(self.usage)
        response = {**self.response, "status": status, "output": self.output, "usage": usage}
        if reason is not None:
            response["incomplete_details"] = {"reason": reason}
        kind = "response.completed" if status == "completed" else "response.incomplete"
        self._emit({"type": kind, "response": response})
