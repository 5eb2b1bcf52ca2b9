"""The access log line's trace_id: the call's span's, or the client's traceparent's."""

from __future__ import annotations

import io

import orjson
import pytest

from keel.call import Call
from keel.monitor.access_log import AccessLog

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _line(traceparent: str | None) -> dict[str, object]:
    out = io.BytesIO()
    call = Call(id="r", endpoint="chat", body={}, model="m", stream=False)
    call.traceparent = traceparent
    AccessLog(out).write(call)
    line: dict[str, object] = orjson.loads(out.getvalue())
    return line


def test_with_tracing_off_the_line_names_the_clients_trace() -> None:
    assert _line(f"00-{TRACE}-00f067aa0ba902b7-01")["trace_id"] == TRACE


@pytest.mark.parametrize(
    "traceparent",
    [None, "garbage", f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
     f"00-{'0' * 32}-00f067aa0ba902b7-01", f"00_{TRACE}_00f067aa0ba902b7-01"],
)  # fmt: skip
def test_no_valid_traceparent_no_trace_id(traceparent: str | None) -> None:
    assert _line(traceparent)["trace_id"] is None
