"""Cached prompt tokens, end to end: the OpenAI SDK through keel to a `keel sim --prompt-cache`
upstream. The second prompt sharing a long system message reports those tokens as cached;
keel records them and prices them at the list's cached-input rate, streamed or not."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from keel.config.prices import PRICE_LIST
from tests.e2e.procs import free_port, run_keel, run_process

KEY = "sk-test-cache"
LIST_NAME = "claude-sonnet-4"  # cache reads at a tenth of the input price
PRICE = PRICE_LIST[LIST_NAME]
SYSTEM = "You are the assistant of a shipyard. " * 40  # a long shared prefix


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, openai.OpenAI]]:
    tmp = tmp_path_factory.mktemp("cached")
    port = free_port()
    args = [sys.executable, "-m", "keel", "sim", "--port", str(port), "--ttft-ms", "0",
            "--tokens-per-s", "5000", "--prompt-cache"]  # fmt: skip
    with run_process(args, f"http://127.0.0.1:{port}/health", tmp / "sim.log"):
        config = {
            "server": {"access_log": False},
            "regions": {"eu": {}},
            "deployments": [{
                "name": "cloud", "provider": "openai", "model": "sim-llm", "region": "eu",
                "base_url": f"http://127.0.0.1:{port}/v1", "price": LIST_NAME,
            }],
            "models": {"chat": ["cloud"]},
            "teams": {"t": {"api_keys": [KEY]}},
        }  # fmt: skip
        with (
            run_keel(tmp, config) as (url, _, path),
            openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client,
        ):
            yield url, path, client


def record(path: Path, request_id: str) -> dict[str, Any]:
    with sqlite3.connect(path.parent / "keel.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM usage WHERE request_id = ?", (request_id,)).fetchall()
    assert len(rows) == 1, f"expected one usage record for {request_id}, found {len(rows)}"
    return dict(rows[0])


def priced(prompt: int, cached: int, completion: int) -> float:
    """The cost worked out here from the list entry, not by keel."""
    return (
        (prompt - cached) * PRICE.input_per_mtok
        + cached * PRICE.cached_input_per_mtok
        + completion * PRICE.output_per_mtok
    ) / 1e6


def messages(question: str, system: str = SYSTEM) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def ask(gateway: Any, question: str, system: str = SYSTEM) -> tuple[Any, dict[str, Any]]:
    _, path, client = gateway
    raw = client.chat.completions.with_raw_response.create(
        model="chat", messages=messages(question, system), max_tokens=8
    )
    return raw.parse(), record(path, raw.headers["x-request-id"])


def test_a_repeated_system_prompt_is_recorded_as_cached_and_costs_less(gateway: Any) -> None:
    system = "Answer about hulls. " + SYSTEM  # a prefix no other test sends
    _, first_row = ask(gateway, "How deep is the keel?", system)
    assert first_row["cached_tokens"] == 0
    second, row = ask(gateway, "How long is the hull?", system)
    details = second.usage.prompt_tokens_details
    assert details is not None and details.cached_tokens > 0  # passed through to the client
    assert row["cached_tokens"] == details.cached_tokens
    assert row["prompt_tokens"] == second.usage.prompt_tokens > row["cached_tokens"]
    assert row["tokens_estimated"] == 0
    expected = priced(row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"])
    assert row["cost_usd"] == pytest.approx(expected)
    uncached = priced(row["prompt_tokens"], 0, row["completion_tokens"])
    assert row["cost_usd"] < uncached


@pytest.mark.parametrize("include_usage", [True, False])
def test_a_stream_records_cached_tokens_from_its_usage_chunk(
    gateway: Any, include_usage: bool
) -> None:
    _, path, client = gateway
    ask(gateway, "What wood is the deck?")  # the system prompt is in the cache now
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    raw = client.chat.completions.with_raw_response.create(
        model="chat", messages=messages(f"And the mast? {include_usage}"), max_tokens=8,
        stream=True, **options,
    )  # fmt: skip
    chunks = list(raw.parse())
    row = record(path, raw.headers["x-request-id"])
    assert row["stream"] == 1 and row["tokens_estimated"] == 0
    assert 0 < row["cached_tokens"] < row["prompt_tokens"]
    expected = priced(row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"])
    assert row["cost_usd"] == pytest.approx(expected)
    if include_usage:
        usage = chunks[-1].usage
        assert (
            usage is not None and usage.prompt_tokens_details.cached_tokens == row["cached_tokens"]
        )
    else:
        assert all(c.usage is None for c in chunks)
