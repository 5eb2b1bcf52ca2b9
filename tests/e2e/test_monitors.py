"""The monitors in a running keel: LLM traffic as Prometheus metrics, and an error regression
that reaches a real webhook once when it starts and once when it ends, recorded as an episode."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import openai
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import fault_config, plan
from tests.e2e.procs import run_keel
from tests.monitor.receiver import Receiver

KEY = "sk-monitors"


def _samples(url: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = httpx.get(url + "/metrics", timeout=30).text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def _ask(client: openai.AsyncOpenAI, n: int, content: str) -> list[int]:
    statuses = []
    for _ in range(n):
        try:
            await client.chat.completions.create(
                model="solo", messages=[{"role": "user", "content": content}]
            )
            statuses.append(200)
        except openai.APIStatusError as exc:
            statuses.append(exc.status_code)
    return statuses


async def _wait_posts(hook: Receiver, count: int, timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s * 10)):
        if len(hook.posts) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(hook.posts)} of {count} alerts arrived in {timeout_s:g} s")


async def test_traffic_metrics_and_an_error_episode(faults: str, tmp_path: Path) -> None:
    async with Receiver() as hook:
        config: dict[str, Any] = fault_config(
            faults, KEY, breaker={"failures": 1000, "cooldown_s": 0.1}
        )
        config["alerts"] = {"webhooks": [{"url": hook.url}], "backoff_s": 0.05}
        config["monitors"] = {
            "resolve_after": 1,
            "regressions": {"window_s": 60, "min_requests": 10, "check_s": 0.2},
        }
        plan(faults, then="500")
        with run_keel(tmp_path, config) as (url, _, path):
            client = openai.AsyncOpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)
            try:
                failed = await _ask(client, 12, "Wie spät ist es in Berlin, bitte?")
                assert set(failed) == {502}
                await _wait_posts(hook, 1)
                plan(faults, then="ok")
                served = await _ask(client, 300, "What is the time in Oslo, please?")
                assert set(served) == {200}
                await _wait_posts(hook, 2)
            finally:
                await client.close()
            ok = (("arm", "-"), ("deployment", "flaky"), ("model", "solo"), ("outcome", "ok"))
            for _ in range(300):  # the monitors read finished calls a moment later
                answers = _samples(url, "keel_answers_total")
                if answers.get(ok) == 300:
                    break
                await asyncio.sleep(0.1)
            languages = _samples(url, "keel_prompt_language_total")
            chars = _samples(url, "keel_prompt_chars_count")
        with sqlite3.connect(path.parent / "keel.db") as conn:
            episodes = conn.execute(
                "SELECT kind, subject, resolved_at IS NOT NULL FROM alert_episodes"
            ).fetchall()
    labels = (("arm", "-"), ("deployment", "flaky"), ("model", "solo"))
    assert answers[(*labels, ("outcome", "ok"))] == 300
    assert answers[(*labels, ("outcome", "error"))] == 12
    assert languages[(("language", "de"), ("model", "solo"))] == 12
    assert languages[(("language", "en"), ("model", "solo"))] == 300
    assert chars[labels] == 312
    firing, resolved = (p.json() for p in hook.posts)
    assert (firing["kind"], firing["subject"], firing["state"]) == ("errors", "solo", "firing")
    assert "100.0% of 12 calls" in firing["message"]
    assert resolved["state"] == "resolved" and resolved["incident_key"] == firing["incident_key"]
    assert len(hook.posts) == 2
    assert episodes == [("errors", "solo", 1)]
