"""A stored Response commits with its call's usage record, in one group-commit transaction:
both are there once the client has the answer, whole or streamed, and neither is when the
commit fails (the client then gets the store's 503 instead of the answer). Both backends."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import orjson

from keel.answer import Answer, Event, Items
from keel.call import Call, Principal
from keel.config.schema import KeelConfig
from keel.errors import StoreUnavailable
from keel.gateway.responses_items import KeptResponse, input_items
from keel.monitor.access_log import AccessLog
from keel.monitor.metrics import Metrics
from keel.pipeline import Pipeline
from keel.pipeline.account import Account
from keel.pipeline.meter import Meter
from keel.protocols.responses import RESPONSES
from keel.store.base import Rows
from keel.store.ledger import Ledger
from keel.store.sql import SQLStore
from keel.translate.responses_chat.response import to_response
from keel.translate.responses_chat.stream import ChunksToEvents

_REQUEST = {"model": "chat", "input": "Hello"}
_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "chat",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


class DownStore(SQLStore):
    """A real SQL store whose database refuses every commit."""

    def __init__(self, inner: SQLStore) -> None:
        super().__init__(inner.engine)

    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        raise ConnectionError("database is down")


def _call(stream: bool) -> Call:
    call = Call(
        id="req-resp-commit",
        endpoint="responses",
        body=dict(_REQUEST, stream=stream),
        model="chat",
        stream=stream,
        protocol=RESPONSES,
    )
    call.principal = Principal("alpha", "key_test", ("*",))
    call.keep = KeptResponse(input_items(_REQUEST["input"]))
    return call


async def _whole(call: Call) -> Answer:
    return Answer(body=Event(to_response(_REQUEST, orjson.dumps(_CHAT))))


async def _streamed(call: Call) -> Answer:
    chunks = ChunksToEvents(_REQUEST)
    first = {"model": "chat", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    finish = {"model": "chat", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    usage = {"model": "chat", "choices": [], "usage": _CHAT["usage"]}
    payloads = [p for c in (first, finish, usage) for p in chunks.event(orjson.dumps(c))]

    async def events() -> AsyncGenerator[list[Event], None]:
        yield [Event(p) for p in payloads]

    source = events()
    return Answer(events=Items(source, source.aclose))


async def _answered(store: SQLStore, stream: bool) -> tuple[Call, Answer]:
    ledger = Ledger(store, attempts=1)
    await ledger.start()
    account = Account(KeelConfig(), ledger, Metrics(), AccessLog(enabled=False))
    pipeline = Pipeline([Meter(), account], _streamed if stream else _whole)
    call = _call(stream)
    try:
        answer = await pipeline.run(call)
        if answer.events is not None:
            async for _ in answer.events:
                pass
    finally:
        await ledger.close()
    return call, answer


async def _stored(store: SQLStore, call: Call) -> tuple[int, list[str]]:
    """The call's usage rows, and the ids of alpha's stored responses."""
    assert call.keep is not None and isinstance(call.keep, KeptResponse)
    response = call.keep.response
    found = None
    if response is not None:
        found = await store.get_response("alpha", response["id"])
    used = await store.stored_request_ids([call.id])
    return len(used), [found.id] if found is not None else []


async def test_a_whole_response_and_its_usage_record_commit_together(store: SQLStore) -> None:
    call, answer = await _answered(store, stream=False)
    assert answer.error is None and answer.body is not None
    sent = orjson.loads(answer.body.raw)
    assert await _stored(store, call) == (1, [sent["id"]])
    kept = await store.get_response("alpha", sent["id"])
    assert kept is not None and kept.as_response()["output"] == sent["output"]
    assert kept.input_items[0]["content"] == [{"type": "input_text", "text": "Hello"}]


async def test_a_streamed_response_and_its_usage_record_commit_together(store: SQLStore) -> None:
    call, answer = await _answered(store, stream=True)
    assert answer.ended is None
    assert call.keep is not None and isinstance(call.keep, KeptResponse)
    assert call.keep.response is not None and call.keep.response["status"] == "completed"
    assert await _stored(store, call) == (1, [call.keep.response["id"]])


async def test_when_the_commit_fails_neither_is_stored(store: SQLStore) -> None:
    for stream in (False, True):
        call, answer = await _answered(DownStore(store), stream)
        failure = answer.ended if stream else answer.error
        assert isinstance(failure, StoreUnavailable), failure
        assert call.keep is not None and isinstance(call.keep, KeptResponse)
        assert call.keep.response is not None  # it had a response to keep, and kept none
        assert await _stored(store, call) == (0, [])


async def test_store_false_keeps_nothing(store: SQLStore) -> None:
    ledger = Ledger(store)
    await ledger.start()
    account = Account(KeelConfig(), ledger, Metrics(), AccessLog(enabled=False))
    call = _call(stream=False)
    call.keep = None  # what the edge does for 'store': false
    try:
        answer = await Pipeline([Meter(), account], _whole).run(call)
    finally:
        await ledger.close()
    assert answer.body is not None
    sent = orjson.loads(answer.body.raw)
    assert await store.get_response("alpha", sent["id"]) is None
    assert len(await store.stored_request_ids([call.id])) == 1
