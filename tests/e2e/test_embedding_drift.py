"""Prompt embedding drift through a real gateway: prompts sampled and embedded off the hot
path, stored as vectors only (the database files hold none of the text), a class that redacts
PII left out; a reference pinned with ``keel monitor pin``; a new kind of prompt found by the
gateway's own check and shown by ``keel monitor report`` and on /metrics."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import orjson

from tests.e2e.procs import keel_cli, run_keel, sim_config

KEY, HR_KEY = "sk-embed-open", "sk-embed-hr"
MARKER = "zebracrossing"  # a word in every prompt, to look for in the database files
SUPPORT = ["my router keeps crashing", "the app will not log me in", "where is my parcel",
           "the printer shows a blank screen", "how do I reset my password",
           "my invoice copy never arrived", "the headset cannot find the device",
           "the payment page charges me twice"]  # fmt: skip
LEGAL = ["summarise the liability cap in the supplier contract",
         "is the termination clause of the NDA standard", "draft an indemnity for the lease",
         "what does the governing law clause mean for us", "should we negotiate the non-compete",
         "what are the risks of the penalty clause in the service agreement"]  # fmt: skip


def config() -> dict[str, object]:
    base = sim_config(KEY)
    return {
        **base,
        "data_classes": {"open": {"regions": ["local"]},
                         "hr": {"regions": ["local"], "pii": {"prompts": "redact"}}},
        "teams": {"t": {"api_keys": [KEY], "data_class": "open"},
                  "h": {"api_keys": [HR_KEY], "data_class": "hr"}},
        "monitors": {"embeddings": {"enabled": True, "share": 1.0, "per_minute": 1000, "window": 30,
                                    "min_vectors": 20, "check_s": 1, "permutations": 99,
                                    "alpha": 0.05}},
    }  # fmt: skip


def ask(url: str, key: str, topics: list[str], count: int, start: int = 0) -> None:
    with openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0) as client:
        for i in range(start, start + count):
            text = f"{topics[i % len(topics)]} ({MARKER} case {i})?"
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])


def vectors(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM prompt_vectors").fetchone()[0])


def wait(condition: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def test_prompts_become_vectors_and_a_new_topic_is_found(tmp_path: Path) -> None:
    with run_keel(tmp_path, config()) as (url, _, path):
        db = tmp_path / "keel.db"
        ask(url, HR_KEY, SUPPORT, 10)  # redacting class: never embedded
        ask(url, KEY, SUPPORT, 40)
        wait(lambda: vectors(db) >= 40)
        assert vectors(db) == 40
        for file in tmp_path.glob("keel.db*"):
            assert MARKER.encode() not in file.read_bytes(), file.name
        pinned = keel_cli("monitor", "pin", "m", "--since", "1h", "--config", str(path))
        assert "(40 prompt vectors)" in pinned.stdout or "(30+ prompt vectors)" in pinned.stdout

        def drift_found() -> bool:
            out = keel_cli("monitor", "report", "m", "--format", "json", "--config", str(path))
            checks = orjson.loads(out.stdout)
            return any(c["drift"] and c["n_current"] >= 20 for c in checks)

        ask(url, KEY, LEGAL, 30)
        wait(drift_found)
        table = keel_cli("monitor", "report", "m", "--config", str(path)).stdout
        assert "DRIFT" in table.splitlines()[2]
        metrics = httpx.get(url + "/metrics", timeout=10).text
        line = next(x for x in metrics.splitlines() if x.startswith("keel_embedding_drift_score{"))
        assert float(line.rsplit(" ", 1)[1]) >= -math.log10(0.05)
