"""A known ledger for the report tests: rows chosen so every total is worked out by hand.

November 2026 in Europe/Berlin (UTC+1 then) runs from 2026-10-31 23:00 UTC to 2026-11-30
23:00 UTC: 720 hours. ``gpu`` (self-hosted, $0.01 an hour) costs 720 x 0.01 = $7.20 over it;
``gpu2`` ($0.005 an hour) serves nothing and costs 720 x 0.005 = $3.60, idle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from keel.config.schema import KeelConfig
from tests.store.conftest import make_row

__all__ = ["FAILED", "RETRIED", "config", "config_dict", "ledger", "row", "utc"]

FAILED = '[{"deployment": "cloud", "error": "upstream_status", "status": 500, "ms": 5.0}, ' \
    '{"deployment": "cloud", "error": "upstream_timeout", "ms": 9.0}]'  # fmt: skip
RETRIED = '[{"deployment": "gpu", "error": "upstream_unavailable", "ms": 1.0}, ' \
    '{"deployment": "gpu", "error": null, "status": 200, "ms": 90.0}]'  # fmt: skip


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[misc]


def config(**sections: Any) -> KeelConfig:
    return KeelConfig.model_validate(config_dict(**sections))


def config_dict(**sections: Any) -> dict[str, Any]:
    sim = {"provider": "sim", "model": "sim", "region": "eu"}
    return {
        "regions": {"eu": {}},
        "deployments": [
            {"name": "cloud", **sim, "price": {"input_per_mtok": 1, "output_per_mtok": 2}},
            {"name": "gpu", **sim, "price": {"hourly_usd": 0.01}},
            {"name": "gpu2", **sim, "price": {"hourly_usd": 0.005}},
        ],
        "models": {"chat": ["cloud", "gpu", "gpu2"]},
        "teams": {"alpha": {}, "beta": {}, "gamma": {}},
        **sections,
    }  # fmt: skip


def row(ts: float, team: str, deployment: str, **fields: Any) -> dict[str, Any]:
    ok = f'[{{"deployment": "{deployment}", "error": null, "status": 200, "ms": 1.0}}]'
    base: dict[str, Any] = {"ts": ts, "team": team, "deployment": deployment, "cost_usd": 0.0,
                            "attempts": ok, "key_id": f"key_{team}"}  # fmt: skip
    return make_row(**{**base, **fields})


def ledger() -> list[dict[str, Any]]:
    rows = [
        # Outside November in Berlin: 23:30 on Oct 31 there, and 00:30 on Dec 1 there.
        row(utc(2026, 10, 31, 22, 30), "alpha", "cloud", cost_usd=9.0),
        row(utc(2026, 11, 30, 23, 30), "alpha", "cloud", cost_usd=7.0),
        # alpha: 00:30 on Nov 1 in Berlin (Oct 31 in UTC), and two calls served by gpu.
        row(utc(2026, 10, 31, 23, 30), "alpha", "cloud", prompt_tokens=100, cached_tokens=20,
            completion_tokens=50, cost_usd=0.50, latency_ms=100.0, project="support"),
        row(utc(2026, 11, 5, 9), "alpha", "gpu", prompt_tokens=300, completion_tokens=100,
            latency_ms=200.0, project="support"),
        row(utc(2026, 11, 6, 9), "alpha", "gpu", prompt_tokens=300, completion_tokens=100,
            latency_ms=300.0),
        # beta: a call gpu answered on its second try, a call that failed twice, and two
        # shadow copies (costed, never requests).
        row(utc(2026, 11, 7, 9), "beta", "gpu", prompt_tokens=100, completion_tokens=100,
            latency_ms=400.0, attempts=RETRIED, project="cv"),
        row(utc(2026, 11, 8, 9), "beta", "cloud", status=502, error="upstream_status",
            prompt_tokens=0, completion_tokens=0, latency_ms=50.0, attempts=FAILED,
            project="cv"),
        row(utc(2026, 11, 7, 9), "beta", "gpu", prompt_tokens=100, completion_tokens=100,
            latency_ms=999.0, kind="shadow", project="cv"),
        row(utc(2026, 11, 8, 9), "beta", "cloud", prompt_tokens=10, completion_tokens=10,
            cost_usd=0.25, latency_ms=999.0, kind="shadow", project="cv"),
    ]  # fmt: skip
    # gamma: 20 calls on Nov 30 (UTC), 10 ms to 200 ms, 1 + 1 tokens and $0.01 each.
    rows += [
        row(utc(2026, 11, 30, 10, i), "gamma", "cloud", prompt_tokens=1, completion_tokens=1,
            cost_usd=0.01, latency_ms=10.0 * (i + 1))
        for i in range(20)
    ]  # fmt: skip
    return rows
