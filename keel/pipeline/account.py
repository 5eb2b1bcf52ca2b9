"""Stage 9, account: cost, the usage and audit records (committed before the client gets its
answer, with the row the edge keeps of it, if any: ``call.keep``), metrics and the access log
line. Runs for every call, failed ones too; for a shadow
copy too (its records are of kind ``shadow``; it is not in the metrics or the access log)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from keel.audit.record import call_record
from keel.call import Attempt, Call
from keel.config.prices import Price
from keel.config.schema import KeelConfig
from keel.errors import StoreUnavailable
from keel.finops.cost import cost_usd
from keel.monitor.access_log import AccessLog
from keel.monitor.metrics import Metrics
from keel.monitor.tap import Tap
from keel.store.ledger import Ledger, RecordNotCommitted

__all__ = ["Account", "usage_row"]


class Account:
    def __init__(
        self,
        config: KeelConfig,
        ledger: Ledger,
        metrics: Metrics,
        access_log: AccessLog,
        tap: Tap | None = None,
    ) -> None:
        self.tap = tap  # the monitors read finished calls from it, off the hot path
        self.prices: dict[str, Price] = {d.name: d.prices for d in config.deployments}
        self.ledger = ledger
        self.metrics = metrics
        self.access_log = access_log

    async def after(self, call: Call) -> None:
        row = self.settle(call)
        audit = call_record(call) if self.ledger.audited else None
        kept = call.keep.row(call) if call.keep is not None else None
        try:
            await self.ledger.record(row, audit, kept)
            call.id = row["request_id"]  # a fresh one if the client's was taken
        except RecordNotCommitted as exc:
            self.metrics.store_errors.labels("record").inc()
            call.status, call.error = 503, StoreUnavailable.code
            raise StoreUnavailable(
                "keel could not record this request, so it withholds the answer. "
                "Retry shortly; if it persists, check the store (GET /readyz)."
            ) from exc
        finally:
            if call.kind == "call":
                self.observe(call)
            if self.tap is not None:
                self.tap.offer(call)

    def settle(self, call: Call) -> dict[str, Any]:
        """Price the call and build its record (no I/O)."""
        call.finished = time.perf_counter()
        # A client that hung up mid-stream still consumed what the upstream generated;
        # an upstream that failed is never billed as a completion.
        price = self.prices.get(call.deployment) if call.deployment is not None else None
        if price is not None and (call.status < 400 or call.status == 499):
            call.cost_usd = cost_usd(price, call.usage)
        return usage_row(call)

    def observe(self, call: Call) -> None:
        self.metrics.observe(call)
        self.access_log.write(call)


def usage_row(call: Call) -> dict[str, Any]:
    usage = call.usage
    principal = call.principal
    return {
        "request_id": call.id,
        "ts": call.started_at,
        "team": principal.team if principal else None,
        "key_id": principal.key_id if principal else None,
        "project": principal.project if principal else None,
        "model": call.model or None,
        "endpoint": call.endpoint,
        "stream": call.stream,
        "deployment": call.deployment,
        "region": call.region,
        "status": call.status,
        "error": call.error,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "cached_tokens": usage.cached_tokens if usage else 0,
        "tokens_estimated": usage.estimated if usage else False,
        "cost_usd": call.cost_usd,
        "latency_ms": call.elapsed_s() * 1000,
        "upstream_ms": call.upstream_s * 1000,
        "ttft_ms": call.ttft_s * 1000 if call.ttft_s is not None else None,
        "overhead_ms": call.overhead_s() * 1000,
        "attempts": orjson.dumps([_attempt(a) for a in call.attempts]).decode(),
        "kind": call.kind,
    }


def _attempt(a: Attempt) -> dict[str, Any]:
    row: dict[str, Any] = {"deployment": a.deployment, "error": a.error}
    if a.status is not None:
        row["status"] = a.status
    row["ms"] = round(a.duration_s * 1000, 3)
    return row
