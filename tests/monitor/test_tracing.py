"""The tracer's export: a collector that is down costs a request nothing, and is logged."""

from __future__ import annotations

import logging

import pytest

from keel.monitor.tracing import Tracer
from keel.pipeline import Pipeline
from keel.providers.base import Provider
from keel.routing.router import Router
from tests.e2e.procs import free_port
from tests.pipeline.test_traced import _config
from tests.pipeline.upstreams import Recorder, Scripted, make_call, whole


async def test_a_collector_that_is_down_fails_no_request_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1/traces"
    cfg = _config(endpoint=dead, timeout_s=0.5, batch_delay_s=0.05)
    tracer = Tracer(cfg)
    scripted = {name: Scripted(cfg.deployment(name), *[whole("x")] * 3) for name in ("a", "b")}
    router = Router(cfg, dict[str, Provider](scripted))
    pipeline = Pipeline([Recorder("account")], router.invoke, tracer=tracer)
    with caplog.at_level(logging.WARNING, logger="opentelemetry"):
        for _ in range(3):
            answer = await pipeline.run(make_call())
            assert answer.error is None
        tracer.shutdown()  # flushes: the export fails, is logged, and shutdown returns
    exported = [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")]
    assert exported, [r.getMessage() for r in caplog.records]
