"""The data guards (secrets, personal data) through ``Pipeline.run`` and the real router: every
channel of a prompt in each protocol (messages, tool calls' arguments and tool results,
completions prompts, embeddings inputs, Messages tool_use and tool_result, Responses function
calls and their outputs), native pass-through included; ``answers: block`` on whole answers
and streams; and what a guard held when a stream broke."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from keel.call import Call, Principal
from keel.config.schema import KeelConfig
from keel.errors import BadRequest, PermissionDenied
from keel.pipeline.guard import Guard
from keel.protocols.anthropic import MESSAGES
from keel.protocols.responses import RESPONSES
from tests.pipeline.test_run import build
from tests.pipeline.upstreams import Scripted, Stream, chunk, drain, texts, usage_chunk, whole

KEY = "sk-proj-" + "Ab3dEf9hIjKlMn0pQrStUvWx1yZaBcDeFgHiJkLmNoPq"
PAT = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"
CLASSES = {
    "redact": {"secrets": {"prompts": "redact", "answers": "redact"}},
    "block": {"secrets": {"prompts": "block", "answers": "block"}},
    "pii_block": {"pii": {"answers": "block"}},
    "both": {"secrets": {"prompts": "redact", "answers": "redact"},
             "pii": {"prompts": "redact", "answers": "redact"}},
}  # fmt: skip


def config() -> KeelConfig:
    return KeelConfig.model_validate({
        "regions": {"local": {}},
        "deployments": [{"name": "a", "provider": "sim", "model": "up-a", "region": "local",
                         "retries": 0}],
        "models": {"m": ["a"]},
        "teams": {"t": {}},
        "data_classes": {n: {"regions": ["local"], **spec} for n, spec in CLASSES.items()},
    })  # fmt: skip


class Native(Scripted):
    endpoints = frozenset({"chat", "completions", "embeddings", "messages", "responses"})


def call(data_class: str, endpoint: Any = "chat", stream: bool = False, **body: Any) -> Call:
    protocol = {"messages": MESSAGES, "responses": RESPONSES}.get(endpoint)
    extra = {"protocol": protocol} if protocol is not None else {}
    c = Call(id="req-g", endpoint=endpoint, body={"model": "m", "stream": stream, **body},
             model="m", stream=stream, raw=orjson.dumps(body), **extra)  # fmt: skip
    c.principal = Principal(team="t", key_id="k", models=("*",))
    c.data_class = data_class
    return c


async def run(c: Call, *script: Any) -> tuple[Any, Native, Any]:
    cfg = config()
    upstream = Native(cfg.deployment("a"), *script)
    pipeline, recorder, _ = build(cfg, Guard(cfg), a=upstream)
    return await pipeline.run(c), upstream, recorder


USER = {"role": "user", "content": "hi"}


CHAT_HISTORY = [
    {"role": "user", "content": f"deploy with {KEY}"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
     "function": {"name": "login", "arguments": f'{{"token": "{PAT}"}}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "ok, password: Xk29fLq!"},
]  # fmt: skip


async def test_every_chat_channel_is_redacted_and_the_client_bytes_are_not_sent() -> None:
    answer, upstream, _ = await run(call("redact", messages=CHAT_HISTORY), whole("done"))
    sent = upstream.sent[0]
    assert sent.raw is None  # the client's bytes held the secrets
    user, assistant, tool = sent.body["messages"]
    assert user["content"] == "deploy with [OPENAI_KEY]"
    assert orjson.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {
        "token": "[GITHUB_TOKEN]"
    }
    assert tool["content"] == "ok, password: [PASSWORD]"
    assert answer.error is None


@pytest.mark.parametrize(
    ("endpoint", "field", "given", "expected"),
    [
        ("completions", "prompt", f"key {KEY}", "key [OPENAI_KEY]"),
        ("completions", "prompt", [f"key {KEY}", "hi"], ["key [OPENAI_KEY]", "hi"]),
        ("embeddings", "input", f"key {KEY}", "key [OPENAI_KEY]"),
        ("embeddings", "input", ["a", f"key {KEY}"], ["a", "key [OPENAI_KEY]"]),
        ("embeddings", "input", [[1, 2, 3]], [[1, 2, 3]]),  # token ids pass
    ],
)
async def test_completions_prompts_and_embeddings_inputs_are_guarded(
    endpoint: Any, field: str, given: Any, expected: Any
) -> None:
    _, upstream, _ = await run(call("redact", endpoint, **{field: given}), whole("done"))
    assert upstream.sent[0].body[field] == expected


async def test_messages_tool_use_input_and_tool_results_are_redacted_natively() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": f"use {KEY}"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "login",
                                           "input": {"password": "Xk29fLq!", "user": "ann"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": [{"type": "text", "text": f"token {PAT}"}]}]},
    ]  # fmt: skip
    reply = orjson.dumps({"type": "message", "role": "assistant", "content": [
        {"type": "tool_use", "id": "t2", "name": "x", "input": {"key": KEY}}],
        "usage": {"input_tokens": 3, "output_tokens": 2}})  # fmt: skip
    c = call("redact", "messages", max_tokens=8, messages=history)
    answer, upstream, _ = await run(c, reply)
    sent = upstream.sent[0]
    assert sent.endpoint == "messages" and sent.raw is None
    user, assistant, result = sent.body["messages"]
    assert user["content"][0]["text"] == "use [OPENAI_KEY]"
    assert assistant["content"][0]["input"] == {"password": "[PASSWORD]", "user": "ann"}
    assert result["content"][0]["content"][0]["text"] == "token [GITHUB_TOKEN]"
    out = orjson.loads(answer.body.raw)
    assert out["content"][0]["input"] == {"key": "[OPENAI_KEY]"}  # and in the answer


async def test_responses_function_calls_and_outputs_are_redacted_natively() -> None:
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": f"use {KEY}"}]},
        {"type": "function_call", "call_id": "f1", "name": "login",
         "arguments": '{"api_key": "a8F3kL9mQ2xZ7vB1"}'},
        {"type": "function_call_output", "call_id": "f1", "output": f"got {PAT}"},
    ]  # fmt: skip
    reply = orjson.dumps({"object": "response", "output": [
        {"type": "function_call", "id": "fc", "call_id": "f2", "name": "x",
         "arguments": f'{{"k": "{KEY}"}}'}],
        "usage": {"input_tokens": 3, "output_tokens": 2}})  # fmt: skip
    answer, upstream, _ = await run(call("redact", "responses", input=items), reply)
    given = upstream.sent[0].body["input"]
    assert given[0]["content"][0]["text"] == "use [OPENAI_KEY]"
    assert given[1]["arguments"] == '{"api_key": "[GENERIC_SECRET]"}'
    assert given[2]["output"] == "got [GITHUB_TOKEN]"
    assert orjson.loads(answer.body.raw)["output"][0]["arguments"] == '{"k": "[OPENAI_KEY]"}'


async def test_a_secret_in_a_blocking_class_is_refused_naming_only_its_kind() -> None:
    answer, upstream, recorder = await run(call("block", messages=CHAT_HISTORY), whole("x"))
    assert isinstance(answer.error, BadRequest) and answer.error.code == "secrets_blocked"
    message = answer.error.message
    assert "OPENAI_KEY" in message and "GITHUB_TOKEN" in message and KEY not in message
    assert upstream.sent == [] and recorder.seen[0]["status"] == 400


async def test_secrets_go_before_personal_data_so_a_connection_string_stays_one() -> None:
    text = "db postgres://app:Zq7vK2pLx9@db.example.com/prod and mail ann@example.com"
    messages = [{"role": "user", "content": text}]
    _, upstream, _ = await run(call("both", messages=messages), whole("x"))
    assert (
        upstream.sent[0].body["messages"][0]["content"] == "db [CONNECTION_STRING] and mail [EMAIL]"
    )


async def test_a_whole_answer_with_a_blocked_kind_is_withheld_and_recorded() -> None:
    messages = [{"role": "user", "content": "hi"}]
    answer, _, recorder = await run(call("block", messages=messages), whole(f"here: {KEY}"))
    assert isinstance(answer.error, PermissionDenied) and answer.error.code == "answer_blocked"
    assert "OPENAI_KEY" in answer.error.message and KEY not in answer.error.message
    seen = recorder.seen[0]
    assert (seen["status"], seen["error"]) == (403, "answer_blocked")
    assert seen["usage"].total_tokens == 5  # the upstream's answer was paid for


async def test_personal_data_in_a_pii_blocking_answer_is_withheld() -> None:
    messages = [{"role": "user", "content": "hi"}]
    answer, _, _ = await run(call("pii_block", messages=messages), whole("mail ann@example.com"))
    assert isinstance(answer.error, PermissionDenied) and "EMAIL" in answer.error.message
    assert "ann@" not in answer.error.message


async def test_a_blocked_stream_stops_before_the_secret_and_keeps_back_what_was_held() -> None:
    reads = [[chunk("Here is the key: ")], [chunk(KEY[:10])], [chunk(KEY[10:] + " ok")],
             [chunk(finish="stop"), usage_chunk()]]  # fmt: skip
    c = call("block", stream=True, messages=[{"role": "user", "content": "hi"}])
    answer, _, recorder = await run(c, Stream(reads))
    payloads, _ = await drain(answer)
    assert texts(payloads) == "Here is the key: "  # not a character of it left
    assert answer.ended is not None and answer.ended.code == "answer_blocked"
    assert b"sk-proj" not in b"".join(payloads) and KEY not in answer.ended.message
    seen = recorder.seen[0]
    assert (seen["status"], seen["error"]) == (403, "answer_blocked")
    assert "secrets:block-answer:OPENAI_KEY" in c.guards


async def test_streamed_tool_call_arguments_are_guarded_across_chunks() -> None:
    def args(text: str, finish: str | None = None) -> bytes:
        call = {"index": 0, "function": {"arguments": text}}
        delta = {"tool_calls": [call]}
        return orjson.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    reads = [[args('{"key": "' + KEY[:12])], [args(KEY[12:] + '"}')], [chunk(finish="stop")]]
    c = call("redact", stream=True, messages=[{"role": "user", "content": "hi"}])
    answer, _, _ = await run(c, Stream(reads))
    payloads, _ = await drain(answer)
    sent = "".join(
        tc["function"]["arguments"]
        for p in payloads
        for ch in orjson.loads(p)["choices"]
        for tc in ch["delta"].get("tool_calls") or ()
    )
    assert sent == '{"key": "[OPENAI_KEY]"}'


async def test_text_held_when_a_stream_breaks_leaves_redacted_before_the_error() -> None:
    reads = [[chunk("Use " + KEY[:20])], [chunk(KEY[20:])]]  # then the connection drops
    c = call("redact", stream=True, messages=[{"role": "user", "content": "hi"}])
    answer, _, recorder = await run(c, Stream(reads, breaks=True))
    payloads, _ = await drain(answer)
    assert texts(payloads) == "Use [OPENAI_KEY]"
    assert answer.ended is not None and answer.ended.code == "stream_broken"
    assert recorder.seen[0]["answer"] == "Use [OPENAI_KEY]"  # metered as the client got it


async def test_a_blocked_stream_lets_out_the_safe_text_that_came_with_the_secret() -> None:
    reads = [[chunk("Hi. "), chunk("The key is "), chunk(KEY + " and more"), chunk(finish="stop")]]
    c = call("block", stream=True, messages=[USER])
    answer, _, recorder = await run(c, Stream(reads))
    payloads, _ = await drain(answer)
    assert texts(payloads) == "Hi. The key is "  # before the secret's start, then the stop
    assert b"sk-proj" not in b"".join(payloads) and b'"stop"' not in b"".join(payloads)
    assert answer.ended is not None and answer.ended.code == "answer_blocked"
    assert recorder.seen[0]["status"] == 403


async def test_a_batch_where_personal_data_blocks_is_withheld_whole() -> None:
    reads = [[chunk("Hi. "), chunk("mail ann@example.com "), chunk(finish="stop")]]
    answer, _, _ = await run(call("pii_block", stream=True, messages=[USER]), Stream(reads))
    payloads, _ = await drain(answer)
    assert texts(payloads) == "" and answer.ended is not None
    assert answer.ended.code == "answer_blocked"
