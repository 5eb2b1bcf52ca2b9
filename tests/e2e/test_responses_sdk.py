"""keel's /v1/responses driven by the real ``openai`` SDK, in front of OpenAI-compatible
upstreams (a real ``keel sim``, the recording upstream): every call is translated to Chat
Completions and back; responses are stored per team and chained with previous_response_id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.e2e.conftest import KEY, OTHER_KEY, record
from tests.e2e.procs import run_keel


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, sim_url: str, recorder_url: str
) -> Iterator[tuple[str, Path]]:
    config: dict[str, Any] = {
        "server": {"access_log": False},
        "regions": {"local": {}},
        "deployments": [
            {
                "name": "sim-http",
                "provider": "openai",
                "base_url": sim_url,
                "model": "sim-remote",
                "region": "local",
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
            },
            {
                "name": "recorder",
                "provider": "openai",
                "base_url": recorder_url + "/v1",
                "model": "upstream-model",
                "region": "local",
            },
        ],
        "models": {"chat": ["sim-http"], "tools": ["recorder"]},
        "teams": {"alpha": {"api_keys": [KEY]}, "beta": {"api_keys": [OTHER_KEY]}},
        "limits": {"max_response_chain": 3},
    }
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path.parent / "keel.db"


def client(url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=60)


def test_a_response_is_created_recorded_and_retrieved(keel: tuple[str, Path]) -> None:
    url, db = keel
    with client(url) as c:
        raw = c.responses.with_raw_response.create(
            model="chat", input="Say hello", instructions="Be brief.", max_output_tokens=20
        )
        response = raw.parse()
        assert response.id.startswith("resp_") and response.status in ("completed", "incomplete")
        assert response.output_text and response.usage is not None
        assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
        row = record(db, raw.headers["x-request-id"])
        assert row["endpoint"] == "responses" and row["prompt_tokens"] > 0
        again = c.responses.retrieve(response.id)
        assert again.id == response.id and again.output_text == response.output_text
        assert again.instructions == "Be brief."
        items = c.responses.input_items.list(response.id)
        assert [i.type for i in items.data] == ["message"]
        assert items.data[0].content[0].text == "Say hello"  # type: ignore[union-attr]


def test_a_chain_continues_and_another_team_sees_nothing(
    keel: tuple[str, Path], recorder_url: str
) -> None:
    url, _ = keel
    with client(url) as c:
        first = c.responses.create(model="chat", input="My name is Ana.")
        second = c.responses.create(
            model="tools", input="What is my name?", previous_response_id=first.id
        )
        assert second.previous_response_id == first.id
    sent = orjson.loads(httpx.get(recorder_url + "/_recorded").json()[-1]["body"])
    said = [(m["role"], m["content"]) for m in sent["messages"]]
    assert said == [
        ("user", "My name is Ana."),
        ("assistant", first.output_text),
        ("user", "What is my name?"),
    ]
    with client(url, OTHER_KEY) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(first.id)
        with pytest.raises(openai.NotFoundError) as chained:
            other.responses.create(model="chat", input="x", previous_response_id=first.id)
        assert chained.value.body["param"] == "previous_response_id"  # type: ignore[index]
        with pytest.raises(openai.NotFoundError):
            other.responses.delete(first.id)


def test_a_chain_deeper_than_the_limit_is_refused(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with client(url) as c:
        previous = None
        for n in range(4):  # the last rebuilds a chain of three: the most allowed
            previous = c.responses.create(
                model="chat", input=f"turn {n}", previous_response_id=previous
            ).id
        with pytest.raises(openai.BadRequestError) as deep:
            c.responses.create(model="chat", input="more", previous_response_id=previous)
    assert "max_response_chain" in str(deep.value)


def test_streams_through_the_sdk_helpers(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with client(url) as c:
        events = list(c.responses.create(model="chat", input="Stream please", stream=True))
        kinds = [e.type for e in events]
        assert kinds[:2] == ["response.created", "response.in_progress"]
        assert "response.output_text.delta" in kinds
        assert kinds[-1] in ("response.completed", "response.incomplete")
        assert [e.sequence_number for e in events] == list(range(len(events)))
        with c.responses.stream(model="chat", input="Again") as stream:
            text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
            final = stream.get_final_response()
        assert final.output_text == text and text
        stored = c.responses.retrieve(final.id)  # saved before its last event went out
        assert stored.output_text == text


def test_function_tools_round_trip(keel: tuple[str, Path], recorder_url: str) -> None:
    url, _ = keel
    tools: Any = [
        {
            "type": "function",
            "name": "lookup",
            "description": "Look a word up",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        }
    ]
    with client(url) as c:
        first = c.responses.create(model="tools", input="Look up x", tools=tools)
        call = first.output[-1]
        assert call.type == "function_call"
        # the upstream's arguments, as it wrote them
        assert (call.call_id, call.name, call.arguments) == ("call_1", "lookup", '{"q": "x"}')
        output: Any = [{"type": "function_call_output", "call_id": call.call_id, "output": "ten"}]
        c.responses.create(model="tools", input=output, tools=tools, previous_response_id=first.id)
    sent = orjson.loads(httpx.get(recorder_url + "/_recorded").json()[-1]["body"])
    assert sent["tools"][0]["function"]["name"] == "lookup"
    assistant, result = sent["messages"][1], sent["messages"][2]
    assert assistant["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q": "x"}'}
    assert result == {"role": "tool", "tool_call_id": "call_1", "content": "ten"}


def test_delete_and_store_false(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with client(url) as c:
        kept = c.responses.create(model="chat", input="keep me")
        c.responses.delete(kept.id)
        with pytest.raises(openai.NotFoundError):
            c.responses.retrieve(kept.id)
        passing = c.responses.create(model="chat", input="forget me", store=False)
        assert passing.store is False
        with pytest.raises(openai.NotFoundError):
            c.responses.retrieve(passing.id)


def test_bad_input_gets_an_openai_error_naming_the_field(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with client(url) as c:
        with pytest.raises(openai.BadRequestError) as hosted:
            c.responses.create(model="chat", input="x", tools=[{"type": "web_search"}])
        assert hosted.value.body["param"] == "tools[0].type"  # type: ignore[index]
        assert "web_search" in hosted.value.body["message"]  # type: ignore[index]
        with pytest.raises(openai.BadRequestError) as reasoning:
            c.responses.create(model="chat", input="x", reasoning={"effort": "low"})
        assert reasoning.value.body["param"] == "reasoning"  # type: ignore[index]
        with pytest.raises(openai.BadRequestError) as missing:
            c.post("/responses", body={"model": "chat"}, cast_to=httpx.Response)
        assert missing.value.body["param"] == "input"  # type: ignore[index]
