"""Stored responses, the same tests on SQLite and PostgreSQL: kept per team, chained by
``previous_response_id`` (bounded), deleted, their input items paged."""

from __future__ import annotations

import time
from typing import Any

import pytest

from keel.store import open_store
from keel.store.base import Store
from keel.store.response_sql import response_row, stored_row
from keel.store.responses import ChainTooDeep, ResponseNotFound, StoredResponse, page_items


def said(item_id: str, role: str, text: str) -> dict[str, Any]:
    kind = "input_text" if role == "user" else "output_text"
    return {
        "id": item_id,
        "type": "message",
        "role": role,
        "content": [{"type": kind, "text": text}],
    }


def turn(n: int, previous: str | None = None, team: str = "alpha") -> StoredResponse:
    return StoredResponse(
        id=f"resp_{n}",
        team=team,
        created_at=time.time(),
        model="chat",
        input_items=[said(f"in_{n}", "user", f"question {n}")],
        output_items=[said(f"out_{n}", "assistant", f"answer {n}")],
        previous_response_id=previous,
        usage={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
        body={"object": "response", "status": "completed", "instructions": "Be brief."},
    )


async def test_a_saved_response_is_read_back_whole_by_its_team_only(store: Store) -> None:
    record = turn(1)
    await store.save_response(record)
    assert await store.get_response("alpha", "resp_1") == record
    response = record.as_response()
    assert response["id"] == "resp_1" and response["output"] == record.output_items
    assert response["usage"]["total_tokens"] == 5 and response["status"] == "completed"
    assert await store.get_response("beta", "resp_1") is None
    assert await store.get_response("alpha", "resp_2") is None


async def test_a_chain_is_every_turn_in_order_on_any_replica(store_url: str) -> None:
    writer, reader = open_store(store_url), open_store(store_url)
    await writer.start()
    await reader.start()
    try:
        await writer.save_response(turn(1))
        await writer.save_response(turn(2, "resp_1"))
        await writer.save_response(turn(3, "resp_2"))
        items = await reader.response_chain("alpha", "resp_3", limit=10)
        ids = [i["id"] for i in items]
        assert ids == ["in_1", "out_1", "in_2", "out_2", "in_3", "out_3"]
        assert await reader.response_chain("alpha", "resp_1", limit=1) == [
            said("in_1", "user", "question 1"),
            said("out_1", "assistant", "answer 1"),
        ]
    finally:
        await writer.close()
        await reader.close()


async def test_a_chain_never_crosses_teams(store: Store) -> None:
    await store.save_response(turn(1, team="beta"))
    await store.save_response(turn(2, "resp_1"))  # alpha names beta's response
    with pytest.raises(ResponseNotFound) as missing:
        await store.response_chain("alpha", "resp_2", limit=10)
    assert missing.value.response_id == "resp_1"
    with pytest.raises(ResponseNotFound) as other:
        await store.response_chain("beta", "resp_2", limit=10)
    assert other.value.response_id == "resp_2"
    assert "for your team" in str(other.value)


async def test_a_chain_deeper_than_the_limit_is_refused(store: Store) -> None:
    previous = None
    for n in range(1, 6):
        await store.save_response(turn(n, previous))
        previous = f"resp_{n}"
    assert len(await store.response_chain("alpha", "resp_5", limit=5)) == 10
    with pytest.raises(ChainTooDeep) as deep:
        await store.response_chain("alpha", "resp_5", limit=4)
    assert "more than 4" in str(deep.value) and "previous_response_id" in str(deep.value)


async def test_a_deleted_response_is_gone_and_breaks_the_chain_after_it(store: Store) -> None:
    await store.save_response(turn(1))
    await store.save_response(turn(2, "resp_1"))
    assert await store.delete_response("beta", "resp_1") is False
    assert await store.delete_response("alpha", "resp_1") is True
    assert await store.delete_response("alpha", "resp_1") is False
    assert await store.get_response("alpha", "resp_1") is None
    with pytest.raises(ResponseNotFound) as missing:
        await store.response_chain("alpha", "resp_2", limit=10)
    assert missing.value.response_id == "resp_1"


async def test_input_items_are_paged_as_openai_lists_them(store: Store) -> None:
    record = turn(1)
    items = [said(f"in_{n}", "user", str(n)) for n in range(5)]
    await store.save_response(StoredResponse(**{**_fields(record), "input_items": items}))
    page = await store.response_input_items("alpha", "resp_1", None, 2, "desc")
    assert page is not None
    assert page.as_list() == {
        "object": "list",
        "data": [items[4], items[3]],
        "first_id": "in_4",
        "last_id": "in_3",
        "has_more": True,
    }
    rest = await store.response_input_items("alpha", "resp_1", "in_3", 20, "desc")
    assert rest is not None and [i["id"] for i in rest.data] == ["in_2", "in_1", "in_0"]
    assert not rest.has_more
    asc = await store.response_input_items("alpha", "resp_1", "in_3", 1, "asc")
    assert asc is not None and [i["id"] for i in asc.data] == ["in_4"] and not asc.has_more
    assert await store.response_input_items("beta", "resp_1", None, 20, "desc") is None


def test_paging_after_an_unknown_item_says_so() -> None:
    with pytest.raises(ValueError, match="'after' names no input item"):
        page_items([{"id": "a"}], "zz", 20, "asc")
    empty = page_items([], None, 20, "desc")
    assert empty.as_list()["first_id"] is None and not empty.has_more


def _fields(record: StoredResponse) -> dict[str, Any]:
    return {name: getattr(record, name) for name in StoredResponse.__dataclass_fields__}


def test_a_responses_row_made_straight_is_the_row_of_its_record() -> None:
    record = turn(2, "resp_1")
    # A Response object names its model, time and previous response; the row keeps them.
    named = {"created_at": record.created_at, "model": "chat", "previous_response_id": "resp_1"}
    row = stored_row({**record.as_response(), **named}, "alpha", record.input_items)
    body = {**record.body, **named}
    assert row == response_row(StoredResponse(**{**_fields(record), "body": body}))
