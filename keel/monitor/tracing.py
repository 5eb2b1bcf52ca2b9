"""Tracing on: the OpenTelemetry SDK's tracer, its batch processor and OTLP/HTTP exporter.

Spans are handed to a ``BatchSpanProcessor``, which exports them from its own thread: the
hot path only queues a finished span (a full queue drops it, never waits). An export that
fails is logged by the exporter (logger ``opentelemetry.exporter.otlp``) and retried by it
within its timeout; a request never fails for it. ``shutdown`` flushes what is queued.

The gateway imports this module only when ``tracing.enabled``: with tracing off keel never
imports OpenTelemetry, and the hot path makes no span.
"""

from __future__ import annotations

import logging

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased

from keel.call import Call
from keel.config.schema import KeelConfig
from keel.config.tracing import TracingConfig
from keel.monitor.spans import CallTrace

__all__ = ["Tracer", "exporter"]

log = logging.getLogger("keel.tracing")


def exporter(config: TracingConfig) -> BatchSpanProcessor:
    """The batch processor exporting over OTLP/HTTP (protobuf) as ``config`` says."""
    headers = {name: value.get_secret_value() for name, value in config.headers.items()}
    otlp = OTLPSpanExporter(
        endpoint=config.endpoint, headers=headers or None, timeout=config.timeout_s
    )
    return BatchSpanProcessor(
        otlp,
        max_queue_size=config.max_queue,
        schedule_delay_millis=config.batch_delay_s * 1000,
        export_timeout_millis=config.timeout_s * 1000,
    )


class Tracer:
    """Starts each call's spans; its own provider (not the process-wide one), so an
    application embedding keel keeps its own."""

    def __init__(self, config: KeelConfig, processor: SpanProcessor | None = None) -> None:
        tracing = config.tracing
        # Every trace kept: no ratio to work out per span.
        root: Sampler = (
            ALWAYS_ON if tracing.sample_ratio >= 1 else TraceIdRatioBased(tracing.sample_ratio)
        )
        sampler = ParentBased(root)
        resource = Resource.create({"service.name": tracing.service_name})
        self.provider = TracerProvider(sampler=sampler, resource=resource)
        self.provider.add_span_processor(processor or exporter(tracing))
        self.tracer = self.provider.get_tracer("keel")
        self.stage_spans = tracing.stage_spans
        self.text = frozenset(name for name, dc in config.data_classes.items() if dc.trace_text)

    def start(self, call: Call) -> CallTrace:
        """The call's root span, continuing the client's trace if it sent one."""
        trace = CallTrace(self.tracer, call, self.text)
        call.trace = trace
        return trace

    def shutdown(self) -> None:
        """Export what is queued, then stop the exporter's thread."""
        try:
            self.provider.shutdown()
        except Exception:  # an export that fails at exit must not stop the rest of the close
            log.warning("tracing: the last spans could not be exported", exc_info=True)
