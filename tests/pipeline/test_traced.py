"""Traced calls through ``Pipeline.run``: the span tree (root, a span per stage, one per upstream
attempt), the trace context sent upstream, streams ending their root at their end, text only
where the data class allows; and with tracing off, no span and the client's context untouched."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from keel.config.schema import KeelConfig
from keel.errors import UpstreamUnavailable
from keel.monitor.tracing import Tracer
from keel.pipeline import Pipeline
from keel.pipeline.meter import Meter
from keel.providers.base import Provider
from keel.routing.router import Router
from tests.pipeline.upstreams import Recorder, Scripted, Stream, chunk, drain, make_call, whole

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _config(**tracing: Any) -> KeelConfig:
    return KeelConfig.model_validate({
        "regions": {"local": {}},
        "deployments": [
            {"name": name, "provider": "sim", "model": f"up-{name}", "region": "local",
             "retries": 0} for name in ("a", "b")
        ],
        "models": {"m": {"deployments": ["a", "b"]}},
        "teams": {"t": {}},
        "data_classes": {"open": {"regions": ["local"], "trace_text": True},
                         "closed": {"regions": ["local"]}},
        "tracing": {"enabled": True, **tracing},
    })  # fmt: skip


def _build(
    cfg: KeelConfig, traced: bool, *script_a: Any, script_b: tuple[Any, ...] = ()
) -> tuple[Pipeline, InMemorySpanExporter, dict[str, Scripted]]:
    spans = InMemorySpanExporter()
    tracer = Tracer(cfg, SimpleSpanProcessor(spans)) if traced else None
    scripted = {"a": Scripted(cfg.deployment("a"), *script_a),
                "b": Scripted(cfg.deployment("b"), *script_b)}  # fmt: skip
    router = Router(cfg, dict[str, Provider](scripted))
    stages = [Recorder("identify"), Meter(), Recorder("account")]
    return Pipeline(stages, router.invoke, tracer=tracer), spans, scripted


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        named.setdefault(span.name, []).append(span)
    return named


async def test_a_call_is_a_root_with_stage_children_and_attempts_under_the_route() -> None:
    cfg = _config()
    failed = UpstreamUnavailable("deployment a: refused")
    pipeline, exporter, scripted = _build(cfg, True, failed, script_b=(whole("hello"),))
    call = make_call(max_tokens=10)
    call.traceparent = PARENT
    answer = await pipeline.run(call)
    assert answer.error is None
    spans = exporter.get_finished_spans()
    named = _by_name(spans)
    root = named["chat m"][0]
    assert root.kind is SpanKind.SERVER
    assert root.parent is not None and root.parent.span_id == int(PARENT[36:52], 16)
    assert {s.context.trace_id for s in spans} == {int(PARENT[3:35], 16)}
    assert call.trace is not None and call.trace.trace_id == PARENT[3:35]
    for stage in ("keel.recorder", "keel.route"):
        assert stage in named
    stage_parents = {s.parent.span_id for s in spans if s.name.startswith("keel.") and s.parent}
    assert stage_parents == {root.context.span_id}
    phases = sorted(s.attributes["keel.phase"] for s in named["keel.recorder"])  # type: ignore[index]
    assert phases == ["after", "after", "before", "before"]  # both recorders, both phases
    route = named["keel.route"][0]
    first, second = named["chat up-a"][0], named["chat up-b"][0]
    for attempt in (first, second):
        assert attempt.kind is SpanKind.CLIENT
        assert attempt.parent is not None and attempt.parent.span_id == route.context.span_id
        assert attempt.attributes["gen_ai.provider.name"] == "keel.sim"  # type: ignore[index]
    assert first.status.status_code is StatusCode.ERROR
    assert first.attributes["error.type"] == "upstream_unavailable"  # type: ignore[index]
    assert second.attributes["keel.deployment"] == "b"  # type: ignore[index]
    # Each attempt sent its own span's context upstream, in the client's trace.
    sent = scripted["b"].sent[0].trace
    assert sent is not None
    assert sent["traceparent"] == f"00-{PARENT[3:35]}-{second.context.span_id:016x}-01"
    attributes = root.attributes or {}
    assert attributes["gen_ai.request.max_tokens"] == 10
    assert attributes["gen_ai.usage.input_tokens"] == 3
    assert attributes["gen_ai.usage.output_tokens"] == 2
    assert attributes["keel.deployment"] == "b"
    assert attributes["keel.attempts"] == 2
    assert "gen_ai.input.messages" not in attributes  # no data class: no text


async def test_a_streams_root_ends_when_the_stream_ends() -> None:
    cfg = _config()
    stream = Stream([[chunk("hel")], [chunk("lo", "stop")]])
    pipeline, exporter, _ = _build(cfg, True, stream)
    call = make_call(stream=True)
    answer = await pipeline.run(call)
    assert not [s.name for s in exporter.get_finished_spans() if s.name in ("chat m", "chat up-a")]
    await drain(answer)
    named = _by_name(exporter.get_finished_spans())
    root, attempt = named["chat m"][0], named["chat up-a"][0]
    assert root.end_time is not None and attempt.end_time is not None
    assert attempt.end_time <= root.end_time
    assert root.attributes["gen_ai.response.finish_reasons"] == ("stop",)  # type: ignore[index]


async def test_text_is_in_the_span_only_where_the_data_class_allows() -> None:
    cfg = _config()
    for data_class, has_text in (("open", True), ("closed", False)):
        pipeline, exporter, _ = _build(cfg, True, whole("the answer"))
        call = make_call()
        call.data_class = data_class
        await pipeline.run(call)
        root = _by_name(exporter.get_finished_spans())["chat m"][0]
        attributes = root.attributes or {}
        assert ("gen_ai.input.messages" in attributes) is has_text
        assert ("the answer" in str(attributes.get("gen_ai.output.messages"))) is has_text
        assert not any(v == "hi" for v in attributes.values())


async def test_with_tracing_off_no_trace_and_the_clients_context_goes_upstream_as_it_came() -> None:
    cfg = _config()
    pipeline, exporter, scripted = _build(cfg, False, whole("x"))
    call = make_call()
    call.traceparent, call.tracestate = PARENT, "vendor=1"
    await pipeline.run(call)
    assert call.trace is None
    assert scripted["a"].sent[0].trace == {"traceparent": PARENT, "tracestate": "vendor=1"}
    plain = make_call()
    pipeline2, _, scripted2 = _build(cfg, False, whole("x"))
    await pipeline2.run(plain)
    assert scripted2["a"].sent[0].trace is None
    assert exporter.get_finished_spans() == ()


async def test_an_unsampled_trace_sends_its_context_unsampled_and_exports_nothing() -> None:
    cfg = _config(sample_ratio=0.0)
    pipeline, exporter, scripted = _build(cfg, True, whole("x"))
    call = make_call()
    await pipeline.run(call)
    sent = scripted["a"].sent[0].trace
    assert sent is not None and int(sent["traceparent"][-2:], 16) & 1 == 0  # not sampled
    assert exporter.get_finished_spans() == ()


async def test_without_stage_spans_a_call_is_its_root_its_route_and_its_attempts() -> None:
    cfg = _config(stage_spans=False)
    pipeline, exporter, _ = _build(cfg, True, whole("x"))
    await pipeline.run(make_call())
    names = sorted(s.name for s in exporter.get_finished_spans())
    assert names == ["chat m", "chat up-a", "keel.route"]
