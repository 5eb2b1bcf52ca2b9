"""A Chat Completions stream as an Anthropic Messages stream.

Chunks become ``message_start`` (then a ``ping``), a ``content_block_start`` for each text or
tool call as it begins, ``content_block_delta`` for each piece (``text_delta``, or a tool call's
``input_json_delta``), ``content_block_stop`` when the next begins or the choice finishes, then
``message_delta`` (stop reason, usage) and ``message_stop`` once the usage chunk that follows the
finish is in, or the stream ends. Only the first choice is translated (Messages has one).

Chunks that arrived together (one network read) are translated together, and the pieces of
one block among them become one delta: the client gets them in one write either way, and each
event costs a guard pass, a meter read and a frame. The events are made as parsed ``Event``s,
so each upstream chunk is parsed once and each event encoded once, when it is sent.
"""

from __future__ import annotations

from typing import Any

from keel.answer import Event
from keel.translate.chat_chunks import ChatChunkStream
from keel.translate.messages_chat.response import message_id, message_usage, stop_reason

__all__ = ["ChunksToEvents"]

_PING = b'{"type":"ping"}'
_MESSAGE_STOP = b'{"type":"message_stop"}'


class ChunksToEvents(ChatChunkStream):
    """One stream's state: the open block, the finish, the text's tail (for stop sequences)."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.model = request.get("model")
        sequences = request.get("stop_sequences")
        self.sequences = sequences if isinstance(sequences, list) else None
        super().__init__()
        self.started = False
        self.index = -1  # the open block's index, or of the last one
        self.open: str | None = None  # "text", or "tool:<chat index>"
        self.tail = ""  # the text's last characters: a stop sequence it ends with

    def _error(self, error: dict[str, Any]) -> None:
        self._add(Event.of({"type": "error", "error": error}))

    def _start(self, chunk: dict[str, Any]) -> None:
        if self.started:
            return
        self.started = True
        message: dict[str, Any] = {
            "id": message_id(chunk.get("id")),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model") or self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        self._add(Event.of({"type": "message_start", "message": message}))
        self._add(Event.of({"type": "ping"}, _PING))

    def _choice(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta")
        if type(delta) is dict:
            text = delta.get("content")
            if type(text) is str and text:
                self._text(text)
            for call in delta.get("tool_calls") or ():
                if type(call) is dict:
                    self._tool(call)
        if choice.get("finish_reason"):
            self._close()
            self.finish = choice

    def _text(self, text: str) -> None:
        self.tail = (self.tail + text)[-256:]
        if self.open != "text":
            self._open("text", {"type": "text", "text": ""})
        self._piece("text_delta", "text", text)

    def _tool(self, call: dict[str, Any]) -> None:
        function = call.get("function")
        function = function if type(function) is dict else {}
        which = f"tool:{call.get('index', 0)}"
        if self.open != which:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_keel_{self.index + 1}",
                "name": function.get("name") or "",
                "input": {},
            }
            self._open(which, block)
        arguments = function.get("arguments")
        if type(arguments) is str and arguments:
            self._piece("input_json_delta", "partial_json", arguments)

    def _piece(self, kind: str, field: str, part: str) -> None:
        """One more piece of the open block: added to the batch's last delta if it is one."""
        piece = self.piece
        if piece is not None:
            piece[field] += part
            return
        delta = {"type": kind, field: part}
        self._add(Event.of({"type": "content_block_delta", "index": self.index, "delta": delta}))
        self.piece = delta

    def _open(self, which: str, block: dict[str, Any]) -> None:
        self._close()
        self.index += 1
        self.open = which
        start = {"type": "content_block_start", "index": self.index, "content_block": block}
        self._add(Event.of(start))

    def _close(self) -> None:
        if self.open is None:
            return
        self.open = None
        self._add(Event.of({"type": "content_block_stop", "index": self.index}))

    def _stop(self) -> None:
        self.stopped = True
        finish = self.finish or {"finish_reason": "stop"}
        reason, sequence = stop_reason(finish, self.tail, self.sequences)
        usage = message_usage(self.usage)
        if self.usage is None:  # no count from upstream: keel estimates
            usage = {"output_tokens": 0}
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        self._add(Event.of({"type": "message_delta", "delta": delta, "usage": usage}))
        self._add(Event.of({"type": "message_stop"}, _MESSAGE_STOP))
