"""The edge's reading of a call's headers: the W3C trace context it keeps for the call."""

from __future__ import annotations

from starlette.datastructures import Headers

from keel.call import Call
from keel.gateway.edge import take_headers

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _taken(headers: dict[str, str]) -> Call:
    call = Call(id="r", endpoint="chat", body={}, model="", stream=False)
    take_headers(call, Headers(headers), 60.0)
    return call


def test_the_clients_traceparent_and_tracestate_are_kept_as_they_came() -> None:
    call = _taken({"traceparent": PARENT, "tracestate": "acme=7,other=x"})
    assert (call.traceparent, call.tracestate) == (PARENT, "acme=7,other=x")


def test_no_traceparent_means_no_tracestate_either() -> None:
    call = _taken({"tracestate": "acme=7"})
    assert (call.traceparent, call.tracestate) == (None, None)


def test_an_overlong_traceparent_is_ignored_and_an_overlong_tracestate_dropped() -> None:
    assert _taken({"traceparent": PARENT + "-" + "a" * 300}).traceparent is None
    call = _taken({"traceparent": PARENT, "tracestate": "k=" + "v" * 600})
    assert (call.traceparent, call.tracestate) == (PARENT, None)
