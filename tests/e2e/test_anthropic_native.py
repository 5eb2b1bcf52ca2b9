"""The real ``anthropic`` SDK through keel to Anthropic deployments (the recording Anthropic
upstream, a real process on loopback): the native path. The client's body reaches the upstream
byte for byte but for ``model``, fields keel does not read included; the upstream's answer and
stream events come back with their unknown fields; failover, usage and cost hold as on any
call; a PII rule that changes the prompt sends the changed body, not the client's bytes."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import orjson
import pytest

from keel.audit.canonical import canonical
from tests.e2e.procs import free_port, keel_cli, run_keel, run_process

KEY, PII_KEY = "sk-test-native", "sk-test-native-pii"
UPSTREAM = Path(__file__).parents[1] / "providers" / "anthropic_upstream.py"
PRICE = {"input_per_mtok": 3.0, "cached_input_per_mtok": 0.3, "output_per_mtok": 15.0}
EMAIL = "anna.schmidt@example.com"


class Native:
    def __init__(self, url: str, upstream: str, config: Path) -> None:
        self.url = url
        self.upstream = upstream
        self.config = config
        self.db = config.parent / "keel.db"
        self.clients: dict[str, anthropic.Anthropic] = {}

    def client(self, key: str = KEY) -> anthropic.Anthropic:
        """One client per key for the module, closed with it (an SDK client left to the
        collector leaves its sockets open: a ResourceWarning in whichever test comes next)."""
        if key not in self.clients:
            self.clients[key] = anthropic.Anthropic(
                base_url=self.url, api_key=key, max_retries=0, timeout=60
            )
        return self.clients[key]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def recorded(self, text: str) -> list[dict[str, Any]]:
        """The requests the upstream got whose body holds ``text``."""
        seen = httpx.get(self.upstream + "/_recorded", timeout=30).json()
        return [r for r in seen if text in r["body"]]

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
        "provider": "anthropic",
        "model": f"claude-{name}",
        "region": "eu",
        "base_url": f"{upstream}/{name}",
        "api_key": "sk-ant-fake",
        "price": PRICE,
        **extra,
    }


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Native]:
    tmp = tmp_path_factory.mktemp("anthropic-native")
    port = free_port()
    upstream = f"http://127.0.0.1:{port}"
    args = [sys.executable, str(UPSTREAM), str(port)]
    with run_process(args, upstream + "/health", tmp / "upstream.log"):
        config = {
            "server": {"access_log": False},
            "regions": {"eu": {}, "us": {}},
            "deployments": [
                deployment("a", upstream, retries=0, breaker={"enabled": False}),
                deployment("b", upstream),
                deployment("us", upstream, region="us"),
            ],
            "models": {"claude": ["a", "b"], "claude-us": ["us"]},
            "data_classes": {"personal": {"regions": ["eu"], "pii": {"prompts": "redact"}}},
            "teams": {
                "t": {"api_keys": [KEY]},
                "p": {"api_keys": [PII_KEY], "data_class": "personal"},
            },
        }
        with run_keel(tmp, config) as (url, _, path):
            native = Native(url, upstream, path)
            try:
                yield native
            finally:
                native.close()


# Written by hand: spacing, key order, a float spelt 0.50 and fields no SDK knows.
RAW = (
    b'{"model" : "claude",  "max_tokens":32, "x_client": {"trace": [1, 0.50, "\\u00e9"]},'
    b' "top_k": 5, "messages": [{"role": "user", "content": "raw MARK"}]}'
)


def test_the_clients_bytes_reach_the_upstream_but_for_the_model(native: Native) -> None:
    answer = httpx.post(
        native.url + "/v1/messages",
        content=RAW,
        headers={"x-api-key": KEY, "content-type": "application/json"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    (sent,) = native.recorded("raw MARK")
    assert sent["body"].encode() == RAW.replace(b'"claude"', b'"claude-a"', 1)
    assert answer.json()["x_vendor"] == {"trace": [1, 2.5, "three"]}  # the upstream's own field
    assert answer.headers["x-keel-deployment"] == "a"


def test_sdk_message_usage_cost_and_unknown_fields(native: Native) -> None:
    raw = native.client().messages.with_raw_response.create(
        model="claude",
        max_tokens=32,
        messages=[{"role": "user", "content": "sdk MARK"}],
        extra_body={"x_client": {"keep": True}},
    )
    message = raw.parse()
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the recorder."
    assert orjson.loads(raw.http_response.content)["x_vendor"]["trace"][2] == "three"
    (sent,) = native.recorded("sdk MARK")
    assert orjson.loads(sent["body"])["x_client"] == {"keep": True}
    row = native.row(raw.http_response.headers["x-request-id"])
    # 20 fresh + 10 written to the cache + 30 read from it; 5 out.
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (60, 30, 5)
    assert row["tokens_estimated"] == 0
    assert row["cost_usd"] == pytest.approx((30 * 3.0 + 30 * 0.3 + 5 * 15.0) / 1e6)


def test_sdk_stream_passes_the_upstreams_events(native: Native) -> None:
    with native.client().messages.stream(
        model="claude", max_tokens=32, messages=[{"role": "user", "content": "stream MARK"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello from the recorder."
    assert final.stop_reason == "end_turn"
    with httpx.stream(
        "POST",
        native.url + "/v1/messages",
        json={
            "model": "claude",
            "max_tokens": 32,
            "stream": True,
            "messages": [{"role": "user", "content": "events MARK"}],
        },
        headers={"x-api-key": KEY},
        timeout=60,
    ) as response:
        body = response.read()
        request_id = response.headers["x-request-id"]
    assert b"event: content_block_delta" in body and b'"x_vendor":1' in body
    assert body.rstrip().endswith(b'{"type":"message_stop"}')
    row = native.row(request_id)
    assert row["stream"] == 1 and row["status"] == 200
    assert (row["prompt_tokens"], row["completion_tokens"]) == (60, 5)


def test_an_overloaded_deployment_fails_over_natively(native: Native) -> None:
    message = native.client().messages.create(
        model="claude",
        max_tokens=32,
        messages=[{"role": "user", "content": "fail a 529 overloaded_error MARK1"}],
    )
    assert message.content[0].type == "text"
    paths = [r["path"] for r in native.recorded("MARK1")]
    assert paths == ["/a/v1/messages", "/b/v1/messages"]


def test_a_pii_rule_sends_the_changed_body_not_the_clients_bytes(native: Native) -> None:
    native.client(PII_KEY).messages.create(
        model="claude",
        max_tokens=32,
        messages=[{"role": "user", "content": f"mail {EMAIL} pii MARK"}],
    )
    (sent,) = native.recorded("pii MARK")
    assert EMAIL not in sent["body"]
    assert orjson.loads(sent["body"])["model"] == "claude-a"


def test_the_model_list_says_how_each_protocol_reaches_the_model(native: Native) -> None:
    listed = httpx.get(
        native.url + "/v1/models", headers={"authorization": f"Bearer {KEY}"}, timeout=60
    ).json()
    (card,) = [m for m in listed["data"] if m["id"] == "claude"]
    # Messages pass through; chat is the adapter's translation, and Responses go through chat.
    protocols = {"chat": "translated", "messages": "native", "responses": "translated"}
    assert card["keel"]["protocols"] == protocols


def test_residency_holds_on_messages(native: Native) -> None:
    """The personal data class is pinned to eu: a model that runs only in us is refused."""
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        native.client(PII_KEY).messages.create(
            model="claude-us", max_tokens=32, messages=[{"role": "user", "content": "where"}]
        )
    assert refused.value.body["error"]["type"] == "permission_error"  # type: ignore[index]
    assert native.recorded("where") == []  # nothing left for us
    row = native.row(refused.value.response.headers["x-request-id"])
    assert row["status"] == 403 and row["endpoint"] == "messages"


def test_messages_are_audited_and_the_chain_verifies(native: Native) -> None:
    system = "Be brief."
    turns = [{"role": "user", "content": "audit MARK"}]
    raw = native.client().messages.with_raw_response.create(
        model="claude", max_tokens=32, system=system, messages=turns
    )
    request_id = raw.http_response.headers["x-request-id"]
    verified = keel_cli("audit", "verify", "--config", str(native.config), check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    exported = keel_cli("audit", "export", "--since", "1h", "--config", str(native.config))
    records = {r["request_id"]: r for r in map(orjson.loads, exported.stdout.splitlines())}
    record = records[request_id]
    prompt = {"system": system, "messages": turns}
    assert record["prompt_sha256"] == hashlib.sha256(canonical(prompt)).hexdigest()
    assert record["answer_sha256"] == hashlib.sha256(raw.http_response.content).hexdigest()
    assert (record["deployment"], record["region"], record["decision"]) == ("a", "eu", "allowed")
