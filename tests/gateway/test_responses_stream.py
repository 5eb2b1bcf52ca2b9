"""The Responses stream's framing: the final event leaves last, once the call is recorded (with
its stored Response); a stream whose record failed ends with ``response.failed`` instead."""

from __future__ import annotations

import orjson

from keel.answer import Answer, Event
from keel.call import Call
from keel.errors import StoreUnavailable
from keel.gateway.responses import ResponsesStream
from keel.protocols.responses import RESPONSES


def _events() -> list[Event]:
    response = {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}
    done = {**response, "status": "completed"}
    datas = [
        {"type": "response.created", "sequence_number": 0, "response": response},
        {"type": "response.output_text.delta", "sequence_number": 1, "delta": "Hi"},
        {"type": "response.completed", "sequence_number": 2, "response": done},
    ]
    return [Event(orjson.dumps(d)) for d in datas]


def _stream() -> ResponsesStream:
    call = Call(id="r", endpoint="responses", body={}, model="m", stream=True, protocol=RESPONSES)
    return ResponsesStream(call, Answer(), {})


def test_the_final_event_waits_for_the_record() -> None:
    stream = _stream()
    sent = stream.frames(_events())
    assert b"event: response.output_text.delta\n" in sent
    assert b"response.completed" not in sent
    assert stream.tail(None).startswith(b"event: response.completed\ndata: {")


def test_a_record_that_failed_ends_the_stream_failed() -> None:
    stream = _stream()
    stream.frames(_events())
    tail = stream.tail(StoreUnavailable("keel could not record this request"))
    assert tail.startswith(b"event: response.failed\n") and b"response.completed" not in tail
    event = orjson.loads(tail.split(b"data: ", 1)[1])
    assert event["sequence_number"] == 2  # the number the held event would have had
    assert event["response"]["id"] == "resp_1" and event["response"]["status"] == "failed"
