"""Reading usage off answers and stream events, cached prompt tokens included."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from keel.answer import Event
from keel.call import Call, Usage
from keel.pipeline.meter import StreamMeter, usage_from_answer

PROMPT = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}


def call(client_wants_usage: bool = False) -> Call:
    made = Call(id="req-1", endpoint="chat", body=PROMPT, model="m", stream=True)
    made.client_wants_usage = client_wants_usage
    return made


def usage(cached: Any = None, prompt: int = 100, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": 7, **extra}
    if cached is not None:
        raw["prompt_tokens_details"] = {"cached_tokens": cached}
    return raw


def answer(raw_usage: dict[str, Any]) -> dict[str, Any]:
    choice = {"index": 0, "message": {"role": "assistant", "content": "hi"}}
    return {"choices": [choice], "usage": raw_usage}


def test_cached_tokens_are_read_from_prompt_tokens_details() -> None:
    assert usage_from_answer(call(), answer(usage(64))) == Usage(100, 7, cached_tokens=64)


def test_no_details_means_nothing_cached() -> None:
    assert usage_from_answer(call(), answer(usage())).cached_tokens == 0
    details_null = usage(prompt_tokens_details=None)
    assert usage_from_answer(call(), answer(details_null)) == Usage(100, 7)


@pytest.mark.parametrize("bad", ["64", 6.5, -1, 101, True, [3], {"n": 3}])
def test_an_impossible_cached_count_is_ignored(bad: Any) -> None:
    # Not a count, negative, or more than the prompt: the upstream's number cannot be right,
    # and believing it would make the call look cheaper than it was.
    got = usage_from_answer(call(), answer(usage(bad)))
    assert got == Usage(100, 7, cached_tokens=0)


def test_the_whole_prompt_may_be_cached() -> None:
    assert usage_from_answer(call(), answer(usage(100))).cached_tokens == 100


def test_details_that_are_not_an_object_are_ignored() -> None:
    got = usage_from_answer(call(), answer(usage(prompt_tokens_details=[1, 2])))
    assert got == Usage(100, 7)


def stream_events(final_usage: dict[str, Any]) -> list[Event]:
    chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return [Event(orjson.dumps(e)) for e in (chunk, done, {"choices": [], "usage": final_usage})]


@pytest.mark.parametrize("client_wants_usage", [True, False])
def test_a_streams_final_usage_chunk_carries_cached_tokens(client_wants_usage: bool) -> None:
    meter = StreamMeter(call(client_wants_usage))
    forwarded = [meter.feed(event) for event in stream_events(usage(40))]
    # The usage chunk keel asked for itself is kept back from a client that did not.
    assert forwarded == [True, True, client_wants_usage]
    assert meter.final_usage() == Usage(100, 7, cached_tokens=40)


def test_a_stream_with_a_bad_cached_count_still_meters_its_tokens() -> None:
    meter = StreamMeter(call())
    for event in stream_events(usage(-5)):
        meter.feed(event)
    assert meter.final_usage() == Usage(100, 7)
