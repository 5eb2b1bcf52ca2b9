"""The Responses API passed natively to an OpenAI-compatible upstream: what the upstream gets
(the chain whole, no ids of keel's store, store false) and what the client gets back (its own
chain and store settings), and the config that turns it on."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator

import orjson
import pytest

from keel.config.loader import parse_config
from keel.errors import ConfigError
from keel.providers.openai import OpenAIProvider
from keel.providers.openai_responses import echoed, echoed_events, upstream_body

CHAINED = {
    "model": "m",
    "previous_response_id": "resp_1",
    "input": [
        {"id": "msg_1", "type": "message", "role": "user", "content": "hi"},
        {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        "not an object",
    ],
    "x_client": [1],
}


def test_the_upstream_gets_the_chain_without_keels_ids_and_stores_nothing() -> None:
    sent = upstream_body(CHAINED)
    assert "previous_response_id" not in sent and sent["store"] is False
    assert sent["input"][0] == {"type": "message", "role": "user", "content": "hi"}
    assert sent["input"][1]["call_id"] == "c1" and "id" not in sent["input"][1]
    assert sent["input"][2] == "not an object" and sent["x_client"] == [1]
    assert CHAINED["previous_response_id"] == "resp_1"  # the call's body is left as it was
    assert upstream_body({"model": "m", "input": "text"})["input"] == "text"


def test_the_client_gets_its_own_chain_and_store_back() -> None:
    answer = orjson.dumps({"id": "resp_up", "store": False, "previous_response_id": None, "x": 1})
    got = orjson.loads(echoed(answer, {"previous_response_id": "resp_1"}))
    assert got == {"id": "resp_up", "store": True, "previous_response_id": "resp_1", "x": 1}
    got = orjson.loads(echoed(answer, {"store": False}))
    assert got["store"] is False and got["previous_response_id"] is None
    assert echoed(b"not json", {}) == b"not json" and echoed(b"[1]", {}) == b"[1]"


async def _source() -> AsyncIterator[list[bytes]]:
    created = {"type": "response.created", "response": {"id": "r", "store": False}}
    delta = {"type": "response.output_text.delta", "delta": 'say \\"response\\"'}
    yield [orjson.dumps(created), orjson.dumps(delta)]
    yield [b'{"type": "response.completed", "response": "odd"}', b"garbled"]


async def test_a_stream_s_responses_are_echoed_and_nothing_else_changes() -> None:
    out = [batch async for batch in echoed_events(_source(), {"previous_response_id": "p"})]
    created = orjson.loads(out[0][0])
    assert created["response"] == {"id": "r", "store": True, "previous_response_id": "p"}
    assert out[0][1] == orjson.dumps(
        {"type": "response.output_text.delta", "delta": 'say \\"response\\"'}
    )
    assert out[1] == [b'{"type": "response.completed", "response": "odd"}', b"garbled"]


DEPLOYMENT = """\
regions: {eu: {}}
deployments:
  - name: d
    provider: PROVIDER
    base_url: http://up:8000/v1
    model: m
    region: eu
    responses_api: true
models: {m: [d]}
"""


def test_only_openai_deployments_serve_the_responses_api() -> None:
    config = parse_config(DEPLOYMENT.replace("PROVIDER", "openai"), "keel.yaml")
    provider = OpenAIProvider(config.deployments[0])
    assert "responses" in provider.endpoints and "chat" in provider.endpoints
    with pytest.raises(ConfigError) as refused:
        parse_config(textwrap.dedent(DEPLOYMENT.replace("PROVIDER", "anthropic")), "keel.yaml")
    assert "responses_api is for openai deployments" in str(refused.value)
