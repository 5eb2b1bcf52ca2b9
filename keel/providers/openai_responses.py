"""OpenAI's Responses API passed natively to an upstream that serves it (``responses_api``).

keel keeps the conversation: a chained request reaches the upstream with the chain's items
already in its ``input`` (put there by the edge, from keel's store), without
``previous_response_id`` (an id of keel's store the upstream never saw), its items without
ids, and with ``store`` false, so the conversation is kept where keel's residency and
retention rules hold, not in the upstream's store too. Every other field goes as the client
sent it. On the way back, the
Response (whole, or in the events that carry it) says what the client asked: its own
``previous_response_id`` and ``store``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

__all__ = ["echoed", "echoed_events", "upstream_body"]

# Only these events carry the Response object; a quoted "response" key can occur in no other
# payload, since inside a JSON string every quote is escaped.
_CARRIES = b'"response"'


def upstream_body(body: dict[str, Any]) -> dict[str, Any]:
    """The request as the upstream gets it. Its input items go without their ids: an id
    names an item in a store, and the upstream, storing nothing, would refuse it."""
    sent = {k: v for k, v in body.items() if k != "previous_response_id"}
    sent["store"] = False
    given = body.get("input")
    if isinstance(given, list):
        sent["input"] = [_without_id(item) for item in given]
    return sent


def _without_id(item: Any) -> Any:
    if isinstance(item, dict) and "id" in item:
        return {k: v for k, v in item.items() if k != "id"}
    return item


def echoed(answer: bytes, request: dict[str, Any]) -> bytes:
    """The upstream's Response with the client's chain and store settings; anything that is
    not a JSON object is left for the answer's reader to report."""
    try:
        response = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return answer
    if not isinstance(response, dict):
        return answer
    _echo(response, request)
    return orjson.dumps(response)


async def echoed_events(
    source: AsyncIterator[list[bytes]], request: dict[str, Any]
) -> AsyncIterator[list[bytes]]:
    """``source``'s payloads, those that carry the Response echoed; closing this closes it."""
    try:
        async for payloads in source:
            yield [_event(p, request) if _CARRIES in p else p for p in payloads]
    finally:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


def _event(payload: bytes, request: dict[str, Any]) -> bytes:
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload
    response = event.get("response") if isinstance(event, dict) else None
    if not isinstance(response, dict):
        return payload
    _echo(response, request)
    return orjson.dumps(event)


def _echo(response: dict[str, Any], request: dict[str, Any]) -> None:
    response["previous_response_id"] = request.get("previous_response_id")
    response["store"] = request.get("store") is not False
