"""keel with its records in PostgreSQL: two gateways, one store, the real openai SDK."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import openai
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keel.audit.keys import private_pem
from tests.e2e.procs import keel_cli, run_keel, sim_config
from tests.store.conftest import fresh_pg_database

KEY = "sk-pg"
# Replicas sharing a store share one signing key, so one verify checks every chain.
AUDIT_KEY = private_pem(Ed25519PrivateKey.generate()).decode()


def config(store_url: str) -> dict[str, Any]:
    config = sim_config(KEY)
    config["store"] = {"url": store_url}
    config["deployments"][0]["price"] = {"input_per_mtok": 1, "output_per_mtok": 2}
    config["audit"] = {"signing_key": AUDIT_KEY, "key_id": "replicas-1"}
    return config


async def test_two_gateways_record_into_one_postgres(tmp_path: Path) -> None:
    async with fresh_pg_database() as url:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with contextlib.ExitStack() as stack:
            gateways = [stack.enter_context(run_keel(tmp_path / n, config(url))) for n in "ab"]
            ids = []
            for base, _, _ in gateways:
                with openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0) as client:
                    raw = client.chat.completions.with_raw_response.create(
                        model="m", messages=[{"role": "user", "content": "hi"}]
                    )
                    ids.append(raw.headers["x-request-id"])
                    chunks = list(client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": "s"}], stream=True
                    ))  # fmt: skip
                    assert chunks[-1].choices[0].finish_reason
            config_path = gateways[0][2]
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT request_id, status, cost_usd, stream FROM usage")
        finally:
            await conn.close()
        assert len(rows) == 4 and all(r["status"] == 200 and r["cost_usd"] > 0 for r in rows)
        assert set(ids) <= {r["request_id"] for r in rows}
        report = keel_cli("report", "usage", "--by", "model", "--format", "json",
                          "--config", str(config_path))  # fmt: skip
        assert orjson.loads(report.stdout)[0]["requests"] == 4
        verified = keel_cli("audit", "verify", "--config", str(config_path))
        assert "keel audit: ok: 2 chain(s), 4 record(s) verified" in verified.stdout
