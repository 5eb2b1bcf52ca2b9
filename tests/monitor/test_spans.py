"""How a call maps onto the GenAI semantic conventions' span attributes (keel.monitor.spans)."""

from __future__ import annotations

import orjson
import pytest

from keel.call import Attempt, Call, Principal, Usage
from keel.monitor.spans import (
    Answered,
    operation_name,
    outcome_attributes,
    provider_name,
    request_attributes,
    text_attributes,
)
from keel.protocols.anthropic import MESSAGES


def _call(endpoint: str = "chat", **body: object) -> Call:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    full = {"model": "gpt-4o", "messages": messages, **body}
    return Call(id="r1", endpoint=endpoint, body=full, model="gpt-4o", stream=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("endpoint", "name"),
    [("chat", "chat"), ("completions", "text_completion"), ("embeddings", "embeddings"),
     ("messages", "chat"), ("responses", "chat"), ("infer", "predict")],
)  # fmt: skip
def test_operation_names_are_the_conventions(endpoint: str, name: str) -> None:
    assert operation_name(endpoint) == name


def test_provider_names_are_the_conventions_well_known_values() -> None:
    assert provider_name("openai") == "openai"
    assert provider_name("azure-openai") == "azure.ai.openai"
    assert provider_name("bedrock") == "aws.bedrock"
    assert provider_name("gemini") == "gcp.gemini"
    assert provider_name("sim") == "keel.sim"


def test_request_attributes_carry_the_parameters_the_client_gave_and_no_text() -> None:
    call = _call(max_tokens=64, temperature=0.2, top_p=1, stop="END", seed=7, stream=False)
    attributes = request_attributes(call)
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 1,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ["END"],
        "keel.request_id": "r1",
        "keel.endpoint": "chat",
        "keel.stream": False,
    }


def test_request_attributes_skip_what_is_not_a_number() -> None:
    attributes = request_attributes(_call(temperature="hot", max_tokens=True, stop=[1, 2]))
    assert "gen_ai.request.temperature" not in attributes
    assert "gen_ai.request.max_tokens" not in attributes
    assert "gen_ai.request.stop_sequences" not in attributes


def test_outcome_attributes_say_who_where_how_much() -> None:
    call = _call()
    call.principal = Principal(team="search", key_id="k1", models=("*",), project="faq")
    call.deployment, call.region, call.data_class = "azure-eu", "eu", "internal"
    call.usage = Usage(12, 5, cached_tokens=4)
    call.cost_usd = 0.0021
    call.attempts = [Attempt("a", "unavailable", 0.1), Attempt("azure-eu", None, 0.2)]
    attributes = outcome_attributes(call)
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 4
    assert attributes["keel.team"] == "search"
    assert attributes["keel.project"] == "faq"
    assert attributes["keel.deployment"] == "azure-eu"
    assert attributes["keel.data_class"] == "internal"
    assert attributes["keel.cost_usd"] == 0.0021
    assert attributes["keel.attempts"] == 2
    assert attributes["http.response.status_code"] == 200
    assert "error.type" not in attributes


def test_a_refused_call_has_its_error_type() -> None:
    call = _call()
    call.status, call.error = 429, "budget_exceeded"
    attributes = outcome_attributes(call)
    assert attributes["error.type"] == "budget_exceeded"
    assert "gen_ai.usage.input_tokens" not in attributes  # no usage: nothing made up


def test_the_answer_names_its_model_id_and_finish_reasons() -> None:
    answered = Answered()
    choices = [
        {"index": 0, "message": {"content": "Hello"}, "finish_reason": "stop"},
        {"index": 1, "message": {"content": "Hi"}, "finish_reason": "length"},
    ]
    body = {"id": "chatcmpl-1", "model": "gpt-4o-2024-08-06", "choices": choices}
    answered.see(body, whole=True)
    assert answered.attributes() == {
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.finish_reasons": ["stop", "length"],
    }
    assert answered.texts == ["Hello", "Hi"]


def test_a_stream_of_chunks_gives_the_first_model_and_each_finish() -> None:
    answered = Answered()
    answered.see({"id": "c", "model": "m-1", "choices": [{"delta": {"content": "a"}}]})
    answered.see({"id": "c", "model": "m-1", "choices": [{"delta": {}, "finish_reason": "stop"}]})
    answered.see({"id": "c", "model": "m-1", "choices": [], "usage": {"prompt_tokens": 1}})
    answered.see(None)  # a payload that is not a JSON object
    assert answered.attributes()["gen_ai.response.finish_reasons"] == ["stop"]
    assert answered.model == "m-1"
    assert answered.texts == []  # a stream's text is the meter's (call.answer)


def test_anthropic_events_give_the_model_and_stop_reason() -> None:
    answered = Answered()
    answered.see({"type": "message_start", "message": {"id": "msg_1", "model": "claude-x",
                  "stop_reason": None}})  # fmt: skip
    answered.see({"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
    assert answered.attributes() == {
        "gen_ai.response.model": "claude-x",
        "gen_ai.response.id": "msg_1",
        "gen_ai.response.finish_reasons": ["end_turn"],
    }


def test_text_attributes_are_the_conventions_message_lists() -> None:
    call = _call()
    answered = Answered()
    answered.see({"choices": [{"message": {"content": "Hello"}, "finish_reason": "stop"}]}, True)
    attributes = text_attributes(call, answered)
    assert orjson.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
    ]
    assert orjson.loads(attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello"}]}
    ]


def test_a_streams_text_is_what_the_meter_put_together() -> None:
    call = _call()
    call.answer = "streamed answer"
    attributes = text_attributes(call, Answered())
    output = orjson.loads(attributes["gen_ai.output.messages"])
    assert output == [
        {"role": "assistant", "parts": [{"type": "text", "content": "streamed answer"}]}
    ]


def test_an_anthropic_prompt_keeps_its_content_blocks() -> None:
    call = _call("messages")
    call.protocol = MESSAGES
    blocks = [{"type": "text", "text": "hi"}]
    call.body = {
        "model": "c",
        "system": "be brief",
        "messages": [{"role": "user", "content": blocks}],
    }
    messages = orjson.loads(text_attributes(call, Answered())["gen_ai.input.messages"])
    assert messages == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
    ]
