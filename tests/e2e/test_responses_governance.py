"""What holds for chat holds on /v1/responses, driven by the real ``openai`` SDK: failover
past a dead deployment, residency, PII redaction both ways, a budget refusal, and the audit
chain (one representative test each, translated to Chat Completions upstreams)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from keel.audit.canonical import canonical
from tests.e2e.conftest import KEY, plan, seen
from tests.e2e.procs import free_port, keel_cli, run_keel

EMAIL = "anna.schmidt@example.com"


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, sim_url: str, faults: str
) -> Iterator[tuple[str, Path]]:
    dead = f"http://127.0.0.1:{free_port()}/v1"

    def openai_deployment(name: str, url: str, region: str = "eu", **extra: Any) -> dict[str, Any]:
        return {"name": name, "provider": "openai", "base_url": url, "model": name,
                "region": region, **extra}  # fmt: skip

    config: dict[str, Any] = {
        "server": {"access_log": False},
        "regions": {"eu": {}, "us": {}},
        "deployments": [
            openai_deployment("sim-eu", sim_url),
            openai_deployment("sim-us", sim_url, "us"),
            openai_deployment("down", dead, retries=0, timeouts={"connect_s": 1}),
            openai_deployment("echo", faults + "/v1", retries=0),
            {
                "name": "dear",
                "provider": "sim",
                "model": "sim",
                "region": "eu",
                "sim": {"ttft_ms": 0, "tokens_per_s": 10000},
                "price": {"input_per_mtok": 0, "output_per_mtok": 1000},
            },
        ],
        "models": {
            "duo": ["down", "sim-eu"],
            "us-only": ["sim-us"],
            "echo": ["echo"],
            "dear": ["dear"],
        },
        "data_classes": {
            "personal": {"regions": ["eu"], "pii": {"prompts": "redact", "answers": "redact"}}
        },
        "teams": {
            "alpha": {"api_keys": [KEY]},
            "private": {"api_keys": ["sk-personal"], "data_class": "personal"},
        },
        "budgets": [{"name": "team-month", "scope": "team", "limit_usd": 0.50, "period": "month"}],
    }
    with run_keel(tmp_path_factory.mktemp("responses-governance"), config) as (url, _, path):
        yield url, path


_clients: dict[tuple[str, str], openai.OpenAI] = {}


def client(url: str, key: str = KEY) -> openai.OpenAI:
    """One client per key, closed with the module: a client left to the collector leaves its
    sockets open, a ResourceWarning in whichever test comes next."""
    if (url, key) not in _clients:
        _clients[url, key] = openai.OpenAI(
            base_url=url + "/v1", api_key=key, max_retries=0, timeout=30
        )
    return _clients[url, key]


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for c in _clients.values():
        c.close()
    _clients.clear()


def record(path: Path, request_id: str) -> dict[str, Any]:
    with sqlite3.connect(path.parent / "keel.db") as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM usage WHERE request_id = ?", (request_id,)).fetchone()
    assert row is not None, f"no usage record for {request_id}"
    return dict(row)


def test_failover_past_a_dead_deployment(keel: tuple[str, Path]) -> None:
    url, path = keel
    raw = client(url).responses.with_raw_response.create(
        model="duo", input="hello", max_output_tokens=10
    )
    assert raw.parse().output_text
    assert raw.headers["x-keel-deployment"] == "sim-eu"
    tries = orjson.loads(record(path, raw.headers["x-request-id"])["attempts"])
    assert [t["deployment"] for t in tries] == ["down", "sim-eu"]
    assert tries[0]["error"] is not None and tries[1]["error"] is None


def test_residency_refuses_a_model_outside_the_data_classs_regions(
    keel: tuple[str, Path],
) -> None:
    url, path = keel
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client(url, "sk-personal").responses.create(model="us-only", input="where")
    assert refused.value.status_code == 403
    row = record(path, refused.value.response.headers["x-request-id"])
    assert row["endpoint"] == "responses" and row["status"] == 403 and row["deployment"] is None


@pytest.mark.parametrize("stream", [False, True])
def test_personal_data_is_redacted_both_ways(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, _ = keel
    plan(faults, then="echo")
    asked = f"Mail {EMAIL} today"
    c = client(url, "sk-personal")
    if stream:
        with c.responses.stream(model="echo", input=asked) as events:
            answer = events.get_final_response().output_text
    else:
        answer = c.responses.create(model="echo", input=asked).output_text
    upstream = seen(faults)[-1]["body"]["messages"][-1]["content"]
    assert EMAIL not in str(upstream) and "[EMAIL]" in str(upstream)
    assert answer == "Mail [EMAIL] today"


def test_a_budget_refusal_is_a_429_naming_the_cap(keel: tuple[str, Path]) -> None:
    url, path = keel
    with pytest.raises(openai.RateLimitError) as caught:
        client(url).responses.create(model="dear", input="x", max_output_tokens=1000)
    assert caught.value.status_code == 429 and "retry-after" in caught.value.response.headers
    assert "max_output_tokens" in caught.value.message
    assert record(path, caught.value.response.headers["x-request-id"])["status"] == 429


def test_responses_are_audited_and_the_chain_verifies(keel: tuple[str, Path]) -> None:
    url, path = keel
    raw = client(url).responses.with_raw_response.create(model="duo", input="audit me")
    request_id = raw.headers["x-request-id"]
    verified = keel_cli("audit", "verify", "--config", str(path), check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    exported = keel_cli("audit", "export", "--since", "1h", "--config", str(path))
    records = {r["request_id"]: r for r in map(orjson.loads, exported.stdout.splitlines())}
    record_ = records[request_id]
    assert record_["deployment"] == "sim-eu" and record_["decision"] == "allowed"
    assert record_["answer_sha256"] == hashlib.sha256(raw.http_response.content).hexdigest()
    assert record_["prompt_sha256"] is not None
    assert record_["prompt_sha256"] != hashlib.sha256(canonical("other")).hexdigest()
