"""One JSON line per request. Never the prompt, the answer or the key."""

from __future__ import annotations

import sys
from typing import BinaryIO

import orjson

from keel.call import Call

__all__ = ["AccessLog"]


class AccessLog:
    def __init__(self, stream: BinaryIO | None = None, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stdout.buffer
        self.enabled = enabled

    def write(self, call: Call) -> None:
        if not self.enabled:
            return
        line = {
            "ts": round(call.started_at, 3),
            "request_id": call.id,
            "team": call.principal.team if call.principal else None,
            "key_id": call.principal.key_id if call.principal else None,
            "endpoint": call.endpoint,
            "model": call.model or None,
            "stream": call.stream,
            "deployment": call.deployment,
            "region": call.region,
            "status": call.status,
            "error": call.error,
            "attempts": len(call.attempts),
            "prompt_tokens": call.usage.prompt_tokens if call.usage else 0,
            "completion_tokens": call.usage.completion_tokens if call.usage else 0,
            "cost_usd": round(call.cost_usd, 8),
            "latency_ms": round(call.elapsed_s() * 1000, 2),
            "overhead_ms": round(call.overhead_s() * 1000, 3),
        }
        self.stream.write(orjson.dumps(line) + b"\n")
        self.stream.flush()
