"""The real ``openai`` SDK's Responses calls through keel to deployments that serve the
Responses API themselves (``responses_api: true``; the recording Responses upstream, a real
process on loopback): the native path. Fields and events keel does not read survive both
ways; keel keeps the chain (the upstream gets the whole conversation, with store false and
no previous_response_id); usage, cost, failover and PII rules hold as on any call."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.e2e.procs import free_port, run_keel, run_process

KEY, PII_KEY = "sk-test-responses-native", "sk-test-responses-native-pii"
UPSTREAM = Path(__file__).parents[1] / "providers" / "responses_upstream.py"
PRICE = {"input_per_mtok": 2.0, "cached_input_per_mtok": 0.5, "output_per_mtok": 8.0}
EMAIL = "anna.schmidt@example.com"


class Native:
    def __init__(self, url: str, upstream: str, db: Path) -> None:
        self.url = url
        self.upstream = upstream
        self.db = db
        self.clients: dict[str, openai.OpenAI] = {}

    def client(self, key: str = KEY) -> openai.OpenAI:
        """One client per key for the module, closed with it (an SDK client left to the
        collector leaves its sockets open: a ResourceWarning in whichever test comes next)."""
        if key not in self.clients:
            self.clients[key] = openai.OpenAI(
                base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=60
            )
        return self.clients[key]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def sent(self, text: str) -> list[dict[str, Any]]:
        """The bodies the upstream got that hold ``text``, with their paths."""
        seen = httpx.get(self.upstream + "/_recorded", timeout=30).json()
        return [{**orjson.loads(r["body"]), "_path": r["path"]} for r in seen if text in r["body"]]

    def row(self, request_id: str) -> dict[str, Any]:
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM usage WHERE request_id = ?", (request_id,))
            found = [dict(r) for r in rows.fetchall()]
        assert len(found) == 1, f"expected one usage record for {request_id}, found {found}"
        return found[0]


def deployment(name: str, upstream: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "openai",
        "responses_api": True,
        "model": f"gpt-{name}",
        "region": "eu",
        "base_url": f"{upstream}/{name}/v1",
        "price": PRICE,
        **extra,
    }


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Native]:
    tmp = tmp_path_factory.mktemp("responses-native")
    port = free_port()
    upstream = f"http://127.0.0.1:{port}"
    args = [sys.executable, str(UPSTREAM), str(port)]
    with run_process(args, upstream + "/health", tmp / "upstream.log"):
        config = {
            "server": {"access_log": False},
            "regions": {"eu": {}},
            "deployments": [
                deployment("a", upstream, retries=0, breaker={"enabled": False}),
                deployment("b", upstream),
            ],
            "models": {"gpt": ["a", "b"]},
            "data_classes": {"personal": {"regions": ["eu"], "pii": {"prompts": "redact"}}},
            "teams": {
                "t": {"api_keys": [KEY]},
                "p": {"api_keys": [PII_KEY], "data_class": "personal"},
            },
        }
        with run_keel(tmp, config) as (url, _, path):
            found = Native(url, upstream, path.parent / "keel.db")
            try:
                yield found
            finally:
                found.close()


def test_a_response_passes_natively_with_what_keel_does_not_read(native: Native) -> None:
    body = {"model": "gpt", "input": "plain MARK1", "x_client": {"trace": [1, 0.5]}, "top_k": 3}
    answer = httpx.post(
        native.url + "/v1/responses",
        json=body,
        headers={"authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["x_vendor"] == {"trace": [1, 2.5, "three"]}  # the upstream's own field
    assert got["output"][0]["content"][0]["x_vendor"] == "part"
    assert got["store"] is True and got["previous_response_id"] is None  # as the client asked
    (sent,) = native.sent("plain MARK1")
    assert sent["_path"] == "/a/v1/responses" and sent["model"] == "gpt-a"
    assert sent["x_client"] == {"trace": [1, 0.5]} and sent["top_k"] == 3
    assert sent["store"] is False  # keel is the store
    row = native.row(answer.headers["x-request-id"])
    assert (row["endpoint"], row["deployment"]) == ("responses", "a")
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (20, 8, 5)
    assert row["cost_usd"] == pytest.approx((12 * 2.0 + 8 * 0.5 + 5 * 8.0) / 1e6)


def test_keel_keeps_the_chain_and_the_upstream_gets_it_whole(native: Native) -> None:
    c = native.client()
    first = c.responses.create(model="gpt", input="chain MARK2 one")
    assert first.output_text == "I read 1 items."
    second = c.responses.create(model="gpt", input="chain MARK2 two", previous_response_id=first.id)
    assert second.previous_response_id == first.id and second.store is True
    assert second.output_text == "I read 3 items."
    sent = native.sent("chain MARK2 two")[0]
    assert "previous_response_id" not in sent and sent["store"] is False
    said = [(i["role"], i["type"]) for i in sent["input"]]
    assert said == [("user", "message"), ("assistant", "message"), ("user", "message")]
    assert not any("id" in item for item in sent["input"])  # ids of keel's store stay here
    assert c.responses.retrieve(second.id).output_text == "I read 3 items."
    items = c.responses.input_items.list(second.id)
    assert [i.content[0].text for i in items.data] == ["chain MARK2 two"]  # type: ignore[union-attr]


def test_a_stream_passes_natively_and_is_stored(native: Native) -> None:
    c = native.client()
    with c.responses.stream(model="gpt", input="stream MARK3") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == "I read 1 items." == final.output_text
    assert c.responses.retrieve(final.id).output_text == text
    with httpx.stream(
        "POST",
        native.url + "/v1/responses",
        json={"model": "gpt", "input": "stream MARK3 raw", "stream": True},
        headers={"authorization": f"Bearer {KEY}"},
        timeout=60,
    ) as raw:
        frames = raw.read().decode().split("\n\n")
    kinds = [f.split("\n")[0] for f in frames if f]
    assert "event: response.x_vendor_note" in kinds  # an event no SDK knows, passed on
    assert kinds[-1] == "event: response.completed"
    completed = orjson.loads(frames[-2].split("data: ", 1)[1])
    assert completed["response"]["store"] is True and completed["response"]["x_vendor"]


def test_a_failing_native_deployment_fails_over(native: Native) -> None:
    c = native.client()
    raw = c.responses.with_raw_response.create(model="gpt", input="fail a 503 server_error")
    assert raw.headers["x-keel-deployment"] == "b"
    assert raw.parse().output_text == "I read 1 items."


def test_hosted_tools_pass_natively_where_translation_refuses_them(native: Native) -> None:
    c = native.client()
    tools: Any = [
        {"type": "web_search"},
        {"type": "function", "name": "weather", "parameters": {"type": "object"}},
    ]
    got = c.responses.create(model="gpt", input="tools MARK4", tools=tools)
    call = got.output[0]
    assert call.type == "function_call" and call.name == "weather"
    sent = native.sent("tools MARK4")[0]
    assert sent["tools"] == tools


def test_pii_rules_change_what_the_native_upstream_gets(native: Native) -> None:
    got = native.client(PII_KEY).responses.create(model="gpt", input=f"pii MARK5 {EMAIL}")
    assert got.output_text
    sent = native.sent("pii MARK5")[0]
    assert EMAIL not in orjson.dumps(sent).decode() and sent["input"] == "pii MARK5 [EMAIL]"


def test_models_say_the_responses_protocol_is_native(native: Native) -> None:
    models = native.client().models.list()
    (card,) = [m for m in models.data if m.id == "gpt"]
    assert card.model_extra is not None
    assert card.model_extra["keel"]["protocols"]["responses"] == "native"
