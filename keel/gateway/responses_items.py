"""What ``/v1/responses`` keeps of a call: its input as items with ids (a string input is one
user message), and the stored record of the Response it answered, whole or streamed."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from keel.answer import Events, Item, Items, Resumed
from keel.store.responses import StoredResponse

__all__ = ["input_items", "saved_on_completion", "stored_record"]

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
    out = {"id": f"{_PREFIX.get(kind, 'item')}_{uuid.uuid4().hex}", **item, "type": kind}
    out.setdefault("status", "completed")
    if kind == "message" and isinstance(item.get("content"), str):
        part = "output_text" if item.get("role") == "assistant" else "input_text"
        text: dict[str, Any] = {"type": part, "text": item["content"]}
        if part == "output_text":
            text["annotations"] = []
        out["content"] = [text]
    return out


def stored_record(response: dict[str, Any], team: str, given: list[Any]) -> StoredResponse:
    """The stored record of a Response object the client got."""
    body = {k: v for k, v in response.items() if k not in ("id", "output", "usage")}
    created = response.get("created_at")
    return StoredResponse(
        id=str(response["id"]),
        team=team,
        created_at=float(created) if isinstance(created, int | float) else time.time(),
        model=str(response.get("model") or ""),
        input_items=given,
        output_items=list(response.get("output") or ()),
        previous_response_id=response.get("previous_response_id"),
        usage=response.get("usage"),
        body=body,
    )


def saved_on_completion(events: Events, save: Callable[[dict[str, Any]], Awaitable[None]]) -> Items:
    """The stream's items; the response its final event carries is saved before that event
    goes out (a client that chains at once finds it). Closing this closes ``events``."""
    return Items(_saving(events, save), events.aclose)


async def _saving(
    events: Events, save: Callable[[dict[str, Any]], Awaitable[None]]
) -> AsyncGenerator[Item, None]:
    try:
        async for item in events:
            if not isinstance(item, Resumed):
                for event in item:
                    data = event.data
                    if data is not None and data.get("type") in _FINAL:
                        await save(data["response"])
            yield item
    finally:
        await events.aclose()
