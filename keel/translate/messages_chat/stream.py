"""A Chat Completions stream as an Anthropic Messages stream.

Chunks become ``message_start`` (then a ``ping``), a ``content_block_start`` for each text or
tool call as it begins, ``content_block_delta`` for each piece (``text_delta``, or a tool call's
``input_json_delta``), ``content_block_stop`` when the next begins or the choice finishes, then
``message_delta`` (stop reason, usage) and ``message_stop`` once the usage chunk that follows the
finish is in, or the stream ends. Only the first choice is translated (Messages has one).
"""

from __future__ import annotations

from typing import Any

import orjson

from keel.translate.base import StreamTranslator
from keel.translate.messages_chat.response import message_id, message_usage, stop_reason

__all__ = ["ChunksToEvents"]


def _event(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data)


class ChunksToEvents(StreamTranslator):
    """One stream's state: the open block, the finish, the text's tail (for stop sequences)."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.model = request.get("model")
        sequences = request.get("stop_sequences")
        self.sequences = sequences if isinstance(sequences, list) else None
        self.started = False
        self.index = -1  # the open block's index, or of the last one
        self.open: str | None = None  # "text", or "tool:<chat index>"
        self.finish: dict[str, Any] | None = None  # the choice that finished
        self.usage: Any = None
        self.tail = ""  # the text's last characters: a stop sequence it ends with
        self.stopped = False

    def event(self, payload: bytes) -> list[bytes]:
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return [payload]  # the meter counts it and keeps it back
        if not isinstance(chunk, dict) or self.stopped:
            return []
        if isinstance(chunk.get("error"), dict):  # routing reads it and ends the stream
            return [orjson.dumps({"type": "error", "error": chunk["error"]})]
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

    def _start(self, chunk: dict[str, Any]) -> list[bytes]:
        if self.started:
            return []
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
        return [_event({"type": "message_start", "message": message}), b'{"type":"ping"}']

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
            out.extend(self._close())
            self.finish = choice
        return out

    def _text(self, text: str) -> list[bytes]:
        out = []
        if self.open != "text":
            out = self._open("text", {"type": "text", "text": ""})
        self.tail = (self.tail + text)[-256:]
        delta = {"type": "text_delta", "text": text}
        return [*out, _event({"type": "content_block_delta", "index": self.index, "delta": delta})]

    def _tool(self, call: dict[str, Any]) -> list[bytes]:
        out = []
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        which = f"tool:{call.get('index', 0)}"
        if self.open != which:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_keel_{self.index + 1}",
                "name": function.get("name") or "",
                "input": {},
            }
            out = self._open(which, block)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            out.append(_event({"type": "content_block_delta", "index": self.index, "delta": delta}))
        return out

    def _open(self, which: str, block: dict[str, Any]) -> list[bytes]:
        out = self._close()
        self.index += 1
        self.open = which
        start = {"type": "content_block_start", "index": self.index, "content_block": block}
        return [*out, _event(start)]

    def _close(self) -> list[bytes]:
        if self.open is None:
            return []
        self.open = None
        return [_event({"type": "content_block_stop", "index": self.index})]

    def _stop(self) -> list[bytes]:
        self.stopped = True
        finish = self.finish or {"finish_reason": "stop"}
        reason, sequence = stop_reason(finish, self.tail, self.sequences)
        usage = message_usage(self.usage)
        if self.usage is None:  # no count from upstream: keel estimates
            usage = {"output_tokens": 0}
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        message_delta = {"type": "message_delta", "delta": delta, "usage": usage}
        return [_event(message_delta), b'{"type":"message_stop"}']
