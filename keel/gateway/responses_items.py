"""What ``/v1/responses`` keeps of a call: its input as items with ids (a string input is one
user message), and the stored record of the Response it answered, whole or streamed, which
commits with the call's usage record (``KeptResponse``)."""

from __future__ import annotations

from typing import Any

from keel.answer import Event
from keel.call import Call
from keel.store.response_sql import stored_row
from keel.translate.responses_chat.response import new_id

__all__ = ["KeptResponse", "input_items"]

_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}
_FINAL = frozenset({"response.completed", "response.incomplete"})


def input_items(given: Any) -> list[dict[str, Any]]:
    """The request's ``input`` as items in the shape ``input_items`` lists them (checked by
    the translator: what is not an object here is left as it is)."""
    if isinstance(given, str):
        given = [{"role": "user", "content": given}]
    return [_item(item) for item in given] if isinstance(given, list) else []


def _item(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    kind = item.get("type", "message")
    out = {"id": new_id(_PREFIX.get(kind, "item")), **item, "type": kind}
    out.setdefault("status", "completed")
    if kind == "message" and isinstance(item.get("content"), str):
        part = "output_text" if item.get("role") == "assistant" else "input_text"
        text: dict[str, Any] = {"type": part, "text": item["content"]}
        if part == "output_text":
            text["annotations"] = []
        out["content"] = [text]
    return out


class KeptResponse:
    """The stored record of a call's Response (``call.keep``, a ``keel.pipeline.Keeper``):
    committed in the transaction of the call's usage and audit records, so the client gets
    the Response (or, streamed, its final event) only once it is stored, and a chain on any
    replica finds it. The Response is the answer as the client gets it, or the one a stream's
    final event carries."""

    __slots__ = ("given", "response")

    def __init__(self, given: list[Any]) -> None:
        self.given = given  # the request's own input items, with their ids
        self.response: dict[str, Any] | None = None

    def body(self, body: Event) -> None:
        self.response = body.data

    def events(self, events: list[Event]) -> list[Event]:
        for event in events:
            data = event.data
            if data is not None and data.get("type") in _FINAL:
                response = data.get("response")
                self.response = response if isinstance(response, dict) else None
        return events

    def end(self) -> None:
        pass  # a stream's response is its final event's

    def row(self, call: Call) -> dict[str, Any] | None:
        response, principal = self.response, call.principal
        # A failed call, or a client gone before the end, got no Response to chain on.
        if response is None or principal is None or call.status >= 400 or "id" not in response:
            return None
        return stored_row(response, principal.team, self.given)
