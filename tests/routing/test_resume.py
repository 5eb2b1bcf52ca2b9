"""Splicing a fallback's answer onto the part of a broken stream the client already has."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from keel.answer import Event
from keel.call import Call
from keel.config.schema import DeploymentConfig
from keel.errors import StreamDiverged
from keel.routing.resume import Splice, continuation, resumable


def chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> Event:
    if content is not None:
        delta["content"] = content
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return Event(orjson.dumps({"id": "c", "choices": [choice]}))


def texts(events: list[Event]) -> list[str]:
    return [orjson.loads(e.raw)["choices"][0]["delta"].get("content", "") for e in events]


def test_a_re_run_is_forwarded_past_the_prefix_cut_at_its_end() -> None:
    splice = Splice("Hello wor")
    out = splice.feed([chunk(role="assistant", content=""), chunk("Hello"), chunk(" world")])
    assert texts(out) == ["ld"]
    assert texts(splice.feed([chunk("!"), chunk("", finish="stop")])) == ["!", ""]


def test_a_re_run_that_differs_is_refused() -> None:
    with pytest.raises(StreamDiverged):
        Splice("Hello wor").feed([chunk("Hello"), chunk(" there")])


def test_a_re_run_that_ends_before_the_break_is_refused() -> None:
    with pytest.raises(StreamDiverged):
        Splice("Hello wor").feed([chunk("Hello", finish="stop")])


def test_a_re_run_that_ends_exactly_at_the_break_forwards_just_the_finish() -> None:
    out = Splice("Hello").feed([chunk("Hello", finish="stop")])
    assert texts(out) == [""] and orjson.loads(out[0].raw)["choices"][0]["finish_reason"] == "stop"


def test_a_continuation_drops_its_role_chunk_and_keeps_usage_and_bad_events() -> None:
    usage = orjson.dumps({"id": "c", "choices": [], "usage": {"prompt_tokens": 1}})
    out = Splice("").feed(
        [chunk(role="assistant", content=""), chunk(" more"), Event(usage), Event(b"{bad")]
    )
    assert [e.raw for e in out[1:]] == [usage, b"{bad"] and texts(out[:1]) == [" more"]


def test_completions_text_is_spliced_too() -> None:
    payload = orjson.dumps({"choices": [{"index": 0, "text": "abcdef", "finish_reason": None}]})
    (out,) = Splice("abc").feed([Event(payload)])
    assert orjson.loads(out.raw)["choices"][0]["text"] == "def"


def call(endpoint: Any = "chat", **body: Any) -> Call:
    return Call(id="r", endpoint=endpoint, body=body, model="m", stream=True)


def deployment(**settings: Any) -> DeploymentConfig:
    return DeploymentConfig(name="d", provider="sim", model="m", region="r", **settings)


def test_a_prefill_deployment_gets_the_partial_answer_as_the_last_message() -> None:
    c = call(messages=[{"role": "user", "content": "hi"}])
    extra = {"continue_final_message": True}
    body, splice = continuation(c, deployment(prefill=True, prefill_body=extra), {"x": 1}, "Hel")
    assert body["messages"][-1] == {"role": "assistant", "content": "Hel"}
    assert body["x"] == 1 and body["continue_final_message"] is True and splice.kind == "prefill"


def test_any_other_deployment_re_runs_the_request() -> None:
    body, splice = continuation(call(messages=[]), deployment(), {"x": 1}, "Hel")
    assert body == {"x": 1} and splice.kind == "rerun"


def test_a_completion_prompt_is_extended_for_a_prefill() -> None:
    c = call("completions", prompt="Once")
    body, _ = continuation(c, deployment(prefill=True), {}, " upon")
    assert body["prompt"] == "Once upon"


def test_several_choices_are_not_resumed() -> None:
    assert resumable(call(n=1)) and not resumable(call(n=2))
    assert not resumable(call("embeddings"))
