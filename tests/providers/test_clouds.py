"""The cloud adapters' pieces that need no server: config checks, translation, errors."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from keel.config.loader import parse_config
from keel.errors import ConfigError, UpstreamStatus, UpstreamUnavailable
from keel.providers import azure_openai, bedrock_wire, gemini_wire
from keel.providers.azure_openai import _TokenFile
from keel.providers.bedrock import _aws_error
from keel.providers.gemini import _gemini_error
from keel.providers.refusals import Untranslatable

BASE = "regions: {r: {}}\nmodels: {m: [d]}\ndeployments:\n  - name: d\n    region: r\n"
IMAGE = "data:image/png;base64,iVBORw0KGgo="


def problems(deployment: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + deployment, "keel.yaml")
    return str(caught.value)


def test_azure_needs_endpoint_and_credentials() -> None:
    text = problems("    provider: azure-openai\n    model: gpt-4o\n")
    assert "keel.yaml:4: deployments[0].base_url: an azure-openai deployment needs base_url" in text
    assert "deployments[0].azure: an azure-openai deployment needs api_key, or an Entra ID" in text


def test_azure_one_token_source() -> None:
    text = problems(
        "    provider: azure-openai\n    model: m\n    base_url: https://x\n"
        "    azure: {ad_token: a, ad_token_file: /t}\n"
    )
    assert "set one of azure.ad_token and azure.ad_token_file" in text


def test_gemini_needs_a_key() -> None:
    assert "a gemini deployment needs api_key" in problems("    provider: gemini\n    model: g\n")


def test_bedrock_needs_region_and_key_pairs() -> None:
    assert "needs aws.region" in problems("    provider: bedrock\n    model: b\n")
    text = problems("    provider: bedrock\n    model: b\n    aws: {region: x, access_key_id: A}\n")
    assert "set both aws.access_key_id and aws.secret_access_key" in text
    probe = "    provider: bedrock\n    model: b\n    health: {probe: true}\n    aws: {region: x}\n"
    assert "bedrock has no cheap health probe" in problems(probe)


def test_cloud_sections_only_on_their_provider() -> None:
    text = problems("    provider: sim\n    model: s\n    aws: {region: x}\n")
    assert "aws applies to bedrock deployments only" in text


def test_token_file_read_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_openai, "_TOKEN_CHECK_S", 0.0)
    path = tmp_path / "token"
    path.write_text("first\n")
    token = _TokenFile(path, "az")
    assert token.read() == "first"
    path.write_text("second\n")
    os.utime(path, (1e9, 1e9))  # a new modification time, however coarse the clock
    assert token.read() == "second"
    path.unlink()
    assert token.read() == "second"  # a file gone for a moment keeps the token keel has


def test_token_file_missing_says_what_to_check(tmp_path: Path) -> None:
    with pytest.raises(UpstreamUnavailable, match=r"Check azure\.ad_token_file"):
        _TokenFile(tmp_path / "absent", "az").read()


def test_gemini_images_and_tool_choice() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is it"},
                    {"type": "image_url", "image_url": {"url": IMAGE}},
                ],
            },
        ],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "response_format": {"type": "json_object"},
    }
    out = gemini_wire.to_gemini(body)
    assert out["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}
    }
    assert out["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}
    }
    assert out["generationConfig"] == {"responseMimeType": "application/json"}


def test_image_urls_must_be_inline() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    message = {"role": "user", "content": [part]}
    for translate in (gemini_wire.to_gemini, bedrock_wire.to_converse):
        with pytest.raises(Untranslatable) as caught:
            translate({"messages": [message]})
        assert caught.value.field == "messages[0].content[0].image_url"


def test_bedrock_images_and_tool_choice() -> None:
    message = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": IMAGE}}]}
    tools = [{"type": "function", "function": {"name": "f"}}]
    out = bedrock_wire.to_converse(
        {"messages": [message], "tools": tools, "tool_choice": "required"}
    )
    assert out["messages"][0]["content"][0] == {
        "image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}
    }
    assert out["toolConfig"]["toolChoice"] == {"any": {}}
    with pytest.raises(Untranslatable, match="send no tools"):
        bedrock_wire.to_converse({"messages": [message], "tools": tools, "tool_choice": "none"})


def test_usage_counts_cache_and_thinking() -> None:
    gemini = gemini_wire.usage(
        {
            "promptTokenCount": 10,
            "cachedContentTokenCount": 4,
            "candidatesTokenCount": 3,
            "thoughtsTokenCount": 5,
        }
    )
    assert (gemini["prompt_tokens"], gemini["completion_tokens"]) == (10, 8)
    assert gemini["prompt_tokens_details"]["cached_tokens"] == 4
    aws = bedrock_wire.usage(
        {"inputTokens": 6, "cacheReadInputTokens": 4, "cacheWriteInputTokens": 2, "outputTokens": 3}
    )
    assert (aws["prompt_tokens"], aws["prompt_tokens_details"]["cached_tokens"]) == (12, 4)


@pytest.mark.parametrize(
    ("status", "kind", "message", "expected"),
    [
        (429, "ThrottlingException", "slow down", "rate_limited"),
        (429, "ModelNotReadyException", "warming", "rate_limited"),
        (503, "ServiceUnavailableException", "busy", "server_error"),
        (424, "ModelErrorException", "model failed", "server_error"),
        (400, "ValidationException", "Input is too long for requested model.", "context_length"),
        (400, "ValidationException", "bad field", "bad_request"),
        (403, "UnrecognizedClientException", "invalid token", "refused"),
        (500, "throttlingException", "in a stream", "rate_limited"),
    ],
)
def test_aws_errors_by_kind(status: int, kind: str, message: str, expected: str) -> None:
    error = _aws_error("bed", status, kind, message)
    assert isinstance(error, UpstreamStatus) and error.kind == expected


@pytest.mark.parametrize(
    ("status", "word", "message", "expected"),
    [
        (429, "RESOURCE_EXHAUSTED", "quota", "rate_limited"),
        (503, "UNAVAILABLE", "The model is overloaded.", "server_error"),
        (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "refused"),
        (
            400,
            "INVALID_ARGUMENT",
            "The input token count (9) exceeds the maximum number of tokens allowed (8).",
            "context_length",
        ),
        (400, "INVALID_ARGUMENT", "Invalid value at 'contents'", "bad_request"),
    ],
)
def test_gemini_errors_by_kind(status: int, word: str, message: str, expected: str) -> None:
    body = orjson.dumps({"error": {"code": status, "message": message, "status": word}})
    error = _gemini_error("gem", status, body)
    assert isinstance(error, UpstreamStatus) and error.kind == expected
    assert orjson.loads(error.to_body())["error"]["message"] == message or not error.passthrough
