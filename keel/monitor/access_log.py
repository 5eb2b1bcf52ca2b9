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
            "trace_id": _trace_id(call),
        }
        self.stream.write(orjson.dumps(line) + b"\n")
        self.stream.flush()


def _trace_id(call: Call) -> str | None:
    """The call's trace: its span's, or with tracing off the one the client's traceparent
    names (which keel passed upstream), so the line joins the client's and upstream's traces."""
    if call.trace is not None:
        return call.trace.trace_id
    parent = call.traceparent
    if parent is None or len(parent) < 55 or parent[2] != "-" or parent[35] != "-":
        return None
    trace_id = parent[3:35]
    return trace_id if trace_id != _INVALID and _is_hex(trace_id) else None


_INVALID = "0" * 32
_HEX = frozenset("0123456789abcdef")


def _is_hex(text: str) -> bool:
    return _HEX.issuperset(text)
