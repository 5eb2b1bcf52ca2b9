"""keel in front of Azure OpenAI, Gemini and Bedrock (a recording upstream of each wire format
on loopback), driven by the real openai SDK: chat plain and streamed, tools, usage and cost,
each error class failing over (or not) like any upstream's, the SigV4 signature, Azure's URL."""

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
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.procs import free_port, run_keel, run_process

KEY = "sk-test-clouds"
AWS_KEYS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1")
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
PRICE = {"input_per_mtok": 1.0, "cached_input_per_mtok": 0.5, "output_per_mtok": 2.0}
COST = (12 * 1.0 + 8 * 0.5 + 7 * 2.0) / 1e6  # every upstream reports 20 prompt (8 cached), 7 out
CLOUDS = ("azure", "gemini", "bedrock")
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look it up",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    script = str(Path(__file__).parents[1] / "providers" / "clouds_upstream.py")
    log = tmp_path_factory.mktemp("clouds") / "upstream.log"
    with run_process([sys.executable, script, str(port)], f"http://127.0.0.1:{port}/health", log):
        yield f"http://127.0.0.1:{port}"


def config(upstream: str) -> dict[str, Any]:
    common = {"region": "eu", "price": PRICE, "retries": 0, "breaker": {"enabled": False}}
    aws = dict(zip(("access_key_id", "secret_access_key", "session_token"), AWS_KEYS, strict=True))
    return {
        "server": {"access_log": False},
        "regions": {"eu": {}},
        "deployments": [
            {
                "name": "az",
                "provider": "azure-openai",
                "model": "gpt-4o",
                "base_url": upstream,
                "api_key": "az-key",
                "azure": {"deployment": "prod-4o"},
                **common,
            },
            {
                "name": "gem",
                "provider": "gemini",
                "model": "gemini-2.5-flash",
                "base_url": upstream + "/v1beta",
                "api_key": "g-key",
                **common,
            },
            {
                "name": "bed",
                "provider": "bedrock",
                "model": BEDROCK_MODEL,
                "base_url": upstream,
                "aws": {"region": "us-east-1", **aws},
                **common,
            },
            {
                "name": "backup",
                "provider": "sim",
                "model": "sim",
                "region": "eu",
                "sim": {"ttft_ms": 0, "tokens_per_s": 10000},
            },
        ],
        "models": {
            "azure": ["az", "backup"],
            "gemini": ["gem", "backup"],
            "bedrock": ["bed", "backup"],
        },
        "teams": {"t": {"api_keys": [KEY]}},
    }


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, upstream: str) -> Iterator[tuple[str, Path]]:
    with run_keel(tmp_path_factory.mktemp("keel"), config(upstream)) as (url, _, path):
        yield url, path


@pytest.fixture(scope="module")
def sdk(gateway: tuple[str, Path]) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=gateway[0] + "/v1", api_key=KEY, max_retries=0, timeout=60)
    yield client
    client.close()


def recorded(upstream: str, marker: str) -> dict[str, Any]:
    """The last request the upstream got whose body holds ``marker``."""
    requests = httpx.get(upstream + "/_recorded", timeout=30).json()
    found: dict[str, Any] = [r for r in requests if marker in r["body"]][-1]
    return found


def usage_row(path: Path, request_id: str) -> dict[str, Any]:
    with sqlite3.connect(path.parent / "keel.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM usage WHERE request_id = ?", (request_id,)).fetchall()
    assert len(rows) == 1
    return dict(rows[0])


@pytest.mark.parametrize("model", CLOUDS)
def test_chat_usage_and_cost(
    model: str, sdk: openai.OpenAI, gateway: tuple[str, Path], upstream: str
) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model=model,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": f"plain {model}"},
        ],
        temperature=0.2,
        max_tokens=30,
        stop=["END"],
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == f"from {model}"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.prompt_tokens == 20
    assert answer.usage.completion_tokens == 7
    assert answer.usage.prompt_tokens_details is not None
    assert answer.usage.prompt_tokens_details.cached_tokens == 8
    assert raw.headers["x-keel-deployment"] == {"azure": "az", "gemini": "gem"}.get(model, "bed")
    assert float(raw.headers["x-keel-cost-usd"]) == pytest.approx(COST, abs=1e-9)
    row = usage_row(gateway[1], raw.headers["x-request-id"])
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]) == (20, 7, 8)
    assert row["cost_usd"] == pytest.approx(COST)
    sent = orjson.loads(recorded(upstream, f"plain {model}")["body"])
    if model == "gemini":
        assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        assert sent["generationConfig"] == {
            "temperature": 0.2,
            "maxOutputTokens": 30,
            "stopSequences": ["END"],
        }
    if model == "bedrock":
        assert sent["system"] == [{"text": "Be brief."}]
        assert sent["inferenceConfig"] == {
            "temperature": 0.2,
            "maxTokens": 30,
            "stopSequences": ["END"],
        }


@pytest.mark.parametrize("model", CLOUDS)
def test_streamed_chat(model: str, sdk: openai.OpenAI, gateway: tuple[str, Path]) -> None:
    stream = sdk.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": f"stream {model}"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"from {model}"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (20, 7)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 8


@pytest.mark.parametrize("model", CLOUDS)
@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_and_result(model: str, stream: bool, sdk: openai.OpenAI, upstream: str) -> None:
    messages: list[Any] = [{"role": "user", "content": "tool"}]
    if stream:
        chunks = list(
            sdk.chat.completions.create(model=model, messages=messages, tools=TOOLS, stream=True)
        )
        calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
        name = next(t.function.name for t in calls if t.function and t.function.name)
        arguments = "".join(t.function.arguments or "" for t in calls if t.function)
        call_id = next(t.id for t in calls if t.id)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
    else:
        answer = sdk.chat.completions.create(model=model, messages=messages, tools=TOOLS)
        assert answer.choices[0].message.tool_calls is not None
        call = answer.choices[0].message.tool_calls[0]
        name, arguments, call_id = call.function.name, call.function.arguments, call.id
        finish = answer.choices[0].finish_reason
    assert name == "lookup" and orjson.loads(arguments) == {"q": "x"}
    assert finish == "tool_calls"
    follow = [
        *messages,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": '{"found": "result-42"}'},
    ]
    sdk.chat.completions.create(model=model, messages=follow, tools=TOOLS)
    sent = orjson.loads(recorded(upstream, "result-42")["body"])
    if model == "gemini":
        declared = sent["tools"][0]["functionDeclarations"][0]
        assert declared["name"] == "lookup" and "parametersJsonSchema" in declared
        assert sent["contents"][1]["parts"][0]["functionCall"] == {
            "name": "lookup",
            "args": {"q": "x"},
        }
        assert sent["contents"][2]["parts"][0]["functionResponse"] == {
            "name": "lookup",
            "response": {"found": "result-42"},
        }
    if model == "bedrock":
        assert sent["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["type"] == "object"
        assert sent["messages"][1]["content"][0]["toolUse"]["input"] == {"q": "x"}
        assert sent["messages"][2]["content"][0]["toolResult"]["toolUseId"] == call_id


@pytest.mark.parametrize("model", CLOUDS)
@pytest.mark.parametrize("kind", ["rate", "overloaded", "auth"])
def test_errors_fail_over(model: str, kind: str, sdk: openai.OpenAI) -> None:
    """Rate limited, overloaded, refused: the next deployment answers."""
    raw = sdk.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": f"fail:{kind}"}]
    )
    assert raw.headers["x-keel-deployment"] == "backup"


def test_throttled_stream_fails_over(sdk: openai.OpenAI) -> None:
    """An exception event before the first token (Bedrock's in-stream throttling)."""
    chunks = list(
        sdk.chat.completions.create(
            model="bedrock", messages=[{"role": "user", "content": "stream-fail:rate"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[0].model == "sim"


@pytest.mark.parametrize("model", CLOUDS)
def test_context_length_is_the_clients(model: str, sdk: openai.OpenAI) -> None:
    """Too long a prompt is the request's fault: a 400 that no other deployment is asked."""
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "fail:context"}]
        )
    assert caught.value.code == "context_length_exceeded"


@pytest.mark.parametrize("model", ["azure", "gemini"])
def test_content_policy_is_the_clients(model: str, sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "fail:policy"}]
        )
    assert caught.value.code == "content_filter"


def test_bedrock_guardrail_is_a_content_filter_finish(sdk: openai.OpenAI) -> None:
    answer = sdk.chat.completions.create(
        model="bedrock", messages=[{"role": "user", "content": "fail:policy"}]
    )
    assert answer.choices[0].finish_reason == "content_filter"


def test_untranslatable_field_is_refused(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(
            model="bedrock", messages=[{"role": "user", "content": "hi"}], logit_bias={"1": 5}
        )
    assert "logit_bias" in str(caught.value)


def test_azure_url_and_key(sdk: openai.OpenAI, upstream: str) -> None:
    sdk.chat.completions.create(model="azure", messages=[{"role": "user", "content": "url check"}])
    sent = recorded(upstream, "url check")
    assert sent["path"] == "/openai/deployments/prod-4o/chat/completions"
    assert sent["query"] == "api-version=2024-10-21"
    assert sent["headers"]["api-key"] == "az-key" and "authorization" not in sent["headers"]


def test_gemini_url_and_key(sdk: openai.OpenAI, upstream: str) -> None:
    sdk.chat.completions.create(model="gemini", messages=[{"role": "user", "content": "url g"}])
    sent = recorded(upstream, "url g")
    assert sent["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent["headers"]["x-goog-api-key"] == "g-key"


@pytest.mark.parametrize("stream", [False, True])
def test_sigv4_signature_verifies(stream: bool, sdk: openai.OpenAI, upstream: str) -> None:
    """Re-sign the request the upstream recorded with the same credentials: same signature."""
    marker = f"sign me {stream}"
    list(
        sdk.chat.completions.create(
            model="bedrock", messages=[{"role": "user", "content": marker}], stream=stream
        )
    )
    sent = recorded(upstream, marker)
    operation = "converse-stream" if stream else "converse"
    assert sent["path"] == f"/model/{BEDROCK_MODEL.replace(':', '%3A')}/{operation}"
    headers = sent["headers"]
    assert headers["x-amz-security-token"] == AWS_KEYS[2]
    authorization = headers["authorization"]
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_KEYS[0]}/")
    assert "/us-east-1/bedrock/aws4_request" in authorization
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "content-type", "x-amz-security-token"} <= set(signed)
    again = AWSRequest(
        "POST", upstream + sent["path"], {h: headers[h] for h in signed}, sent["body"].encode()
    )
    again.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(*AWS_KEYS), "bedrock", "us-east-1")
    signature = signer.signature(
        signer.string_to_sign(again, signer.canonical_request(again)), again
    )
    assert authorization.endswith(f"Signature={signature}")
