"""``Pipeline.run`` without HTTP: a call through the stages, the real router and scripted
upstreams, for whole answers and streams, success and each failure class; every stage's
``after`` runs exactly once, whatever happened."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from keel.config.schema import KeelConfig
from keel.errors import (
    BadRequest,
    StoreUnavailable,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from keel.monitor.metrics import Metrics
from keel.pipeline import Pipeline, Stage
from keel.pipeline.guard import Guard
from keel.pipeline.meter import Meter
from keel.pipeline.shadow import Shadows
from keel.providers.base import Provider
from keel.routing.router import Router
from tests.pipeline.upstreams import (
    Recorder,
    Scripted,
    Stream,
    chunk,
    config,
    counting_loads,
    drain,
    make_call,
    texts,
    usage_chunk,
    whole,
)


def build(
    cfg: KeelConfig, *stages: Stage, **providers: Scripted
) -> tuple[Pipeline, Recorder, dict[str, Scripted]]:
    """A pipeline of ``stages``, then a meter and a recorder (in the account's place), over
    the real router and the scripted upstreams."""
    scripted = {d.name: providers.get(d.name) or Scripted(d) for d in cfg.deployments}
    for d in cfg.deployments:
        scripted[d.name].deployment = d
    recorder = Recorder("account")
    router = Router(cfg, dict[str, Provider](scripted))
    return Pipeline([*stages, Meter(), recorder], router.invoke), recorder, scripted


def up(cfg: KeelConfig, name: str, *script: Any) -> Scripted:
    return Scripted(cfg.deployment(name), *script)


async def test_a_whole_answer_passes_byte_for_byte_and_every_stage_ends_once() -> None:
    cfg = config("a")
    first = Recorder("first")
    pipeline, account, _ = build(cfg, first, a=up(cfg, "a", whole("hello")))
    answer = await pipeline.run(call := make_call())
    assert answer.error is None and answer.body is not None
    assert answer.body.raw == whole("hello")
    assert first.log + account.log == ["before first", "after first", "before account",
                                       "after account"]  # fmt: skip
    (seen,) = account.seen
    assert (seen["status"], seen["answer"], call.deployment) == (200, whole("hello"), "a")
    assert seen["usage"].total_tokens == 5


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (UpstreamUnavailable("connection refused"), "upstream_unavailable"),
        (UpstreamTimeout("no first byte"), "upstream_timeout"),
        (UpstreamStatus("HTTP 500", upstream_status=500, body=b"{}"), "server_error"),
        (UpstreamStatus("HTTP 429", upstream_status=429, body=b"{}"), "rate_limited"),
    ],
    ids=["connection", "timeout", "server_error", "rate_limited"],
)
async def test_each_failure_of_the_first_deployment_fails_over_to_the_next(
    failure: Exception, code: str
) -> None:
    cfg = config("a", "b")
    pipeline, account, _ = build(cfg, a=up(cfg, "a", failure), b=up(cfg, "b", whole("hi")))
    answer = await pipeline.run(make_call())
    assert answer.body is not None and answer.error is None
    (seen,) = account.seen
    assert seen["attempts"] == [("a", code), ("b", None)]


async def test_a_request_the_upstream_calls_bad_is_returned_not_failed_over() -> None:
    cfg = config("a", "b")
    bad = UpstreamStatus("HTTP 400", upstream_status=400, body=b'{"error": {"message": "no"}}')
    pipeline, account, providers = build(cfg, a=up(cfg, "a", bad))
    answer = await pipeline.run(make_call())
    assert answer.error is bad and answer.error.status == 400
    assert providers["b"].sent == []
    assert [s["status"] for s in account.seen] == [400]


async def test_when_every_deployment_fails_the_last_error_is_the_answer() -> None:
    cfg = config("a", "b")
    pipeline, account, _ = build(
        cfg, a=up(cfg, "a", UpstreamUnavailable("reset")), b=up(cfg, "b", UpstreamTimeout("slow"))
    )
    answer = await pipeline.run(make_call())
    assert answer.error is not None and answer.error.code == "upstream_timeout"
    assert [(s["status"], s["error"]) for s in account.seen] == [(504, "upstream_timeout")]


async def test_an_answer_that_is_not_json_is_a_502_recorded_once() -> None:
    cfg = config("a")
    pipeline, account, _ = build(cfg, a=up(cfg, "a", b"<html>oops"))
    answer = await pipeline.run(make_call())
    assert answer.error is not None and answer.error.status == 502
    assert "answered with something that is not JSON" in answer.error.message
    assert [s["status"] for s in account.seen] == [502]


async def test_a_stage_that_refuses_stops_the_call_and_every_after_still_runs_once() -> None:
    cfg = config("a")
    first, second = Recorder("first"), Recorder("second", refuse=BadRequest("no, thanks"))
    pipeline, account, providers = build(cfg, first, second)
    answer = await pipeline.run(make_call())
    assert answer.error is not None and answer.error.message == "no, thanks"
    assert providers["a"].sent == []
    # before in order up to the refusal; after in reverse for every stage, once
    assert [*first.log, *second.log, *account.log] == [
        "before first", "after first", "before second", "after second", "after account"
    ]  # fmt: skip
    assert [s["status"] for s in account.seen] == [400]


async def test_an_edge_refusal_is_recorded_like_any_other() -> None:
    cfg = config("a")
    pipeline, account, _ = build(cfg)
    answer = await pipeline.run(make_call(), refused=BadRequest("the body is not JSON"))
    assert answer.error is not None and answer.error.status == 400
    assert account.log == ["after account"] and account.seen[0]["status"] == 400


async def test_a_record_that_cannot_be_committed_withholds_the_answer() -> None:
    cfg = config("a")
    pipeline, account, _ = build(cfg, a=up(cfg, "a", whole("hi")))
    account.fail = StoreUnavailable("the store is down")
    answer = await pipeline.run(make_call())
    assert isinstance(answer.error, StoreUnavailable) and answer.body is None
    assert account.log == ["before account", "after account"]  # once, not again for the error


async def test_a_bug_in_a_stage_is_an_internal_error_recorded_once() -> None:
    cfg = config("a")
    pipeline, account, _ = build(cfg, Recorder("buggy", refuse=ZeroDivisionError()))
    answer = await pipeline.run(make_call())
    assert answer.error is not None and answer.error.status == 500
    assert "Internal error in keel (ZeroDivisionError)" in answer.error.message
    assert account.log == ["after account"]


async def test_a_stream_is_forwarded_as_it_comes_and_ends_the_call_at_its_end() -> None:
    cfg = config("a")
    reads = [[chunk("Hel")], [chunk("lo"), chunk(finish="stop")], [usage_chunk()]]
    pipeline, account, providers = build(cfg, a=up(cfg, "a", Stream(reads)))
    answer = await pipeline.run(make_call(stream=True))
    assert answer.events is not None and account.log == ["before account"]
    payloads, notes = await drain(answer)
    assert texts(payloads) == "Hello" and notes == [] and answer.ended is None
    # The usage chunk keel asked for itself is not the client's; it is metered.
    assert all(b'"usage"' not in p for p in payloads)
    (seen,) = account.seen
    assert (seen["status"], seen["answer"], seen["usage"].total_tokens) == (200, "Hello", 5)
    assert providers["a"].closed == 1


async def test_a_broken_stream_is_resumed_on_the_next_deployment() -> None:
    cfg = config("a", "b")
    broken = Stream([[chunk("Hello wor")]], breaks=True)
    rerun = Stream([[chunk("Hello"), chunk(" world")], [chunk("!", finish="stop")]])
    pipeline, account, providers = build(cfg, a=up(cfg, "a", broken), b=up(cfg, "b", rerun))
    answer = await pipeline.run(make_call(stream=True))
    payloads, notes = await drain(answer)
    assert texts(payloads) == "Hello world!"  # the re-run is spliced on past the break
    assert [(n.broken, n.target, n.code, n.kind) for n in notes] == [
        ("a", "b", "stream_broken", "rerun")
    ]
    assert answer.ended is None
    (seen,) = account.seen
    assert seen["attempts"] == [("a", "stream_broken"), ("b", None)]
    assert seen["status"] == 200 and seen["answer"] == "Hello world!"
    assert (providers["a"].closed, providers["b"].closed) == (1, 1)


async def test_a_broken_stream_with_nowhere_to_go_ends_with_its_error() -> None:
    cfg = config("a")
    pipeline, account, _ = build(cfg, a=up(cfg, "a", Stream([[chunk("Hel")]], breaks=True)))
    answer = await pipeline.run(make_call(stream=True))
    payloads, _ = await drain(answer)
    assert texts(payloads) == "Hel"
    assert answer.ended is not None and answer.ended.code == "stream_broken"
    assert [(s["status"], s["error"]) for s in account.seen] == [(502, "stream_broken")]


async def test_a_stream_the_client_left_unread_is_recorded_as_499() -> None:
    cfg = config("a")
    pipeline, account, providers = build(cfg, a=up(cfg, "a", Stream([[chunk("Hi")]])))
    answer = await pipeline.run(make_call(stream=True))
    assert answer.events is not None
    await answer.events.aclose()
    assert [(s["status"], s["error"]) for s in account.seen] == [(499, "client_disconnected")]
    assert providers["a"].closed == 1


async def test_a_stream_the_client_left_midway_is_recorded_as_499_once() -> None:
    cfg = config("a")
    reads = [[chunk("Hel")], [chunk("lo", finish="stop")]]
    pipeline, account, _ = build(cfg, a=up(cfg, "a", Stream(reads)))
    answer = await pipeline.run(make_call(stream=True))
    assert answer.events is not None
    await answer.events.__anext__()
    await answer.events.aclose()
    await answer.events.aclose()
    assert [(s["status"], s["answer"]) for s in account.seen] == [(499, "Hel")]


async def test_the_guard_rewrites_a_streamed_chunk_and_the_meter_sees_what_left() -> None:
    cfg = config("a")
    # An address split across two chunks is redacted whole.
    reads = [[chunk("Mail john.doe@exam")], [chunk("ple.com now", finish="stop")]]
    pipeline, account, _ = build(cfg, Guard(cfg), a=up(cfg, "a", Stream(reads)))
    call = make_call(stream=True)
    call.data_class = "personal"
    payloads, _ = await drain(await pipeline.run(call))
    text = texts(payloads)
    assert "john.doe" not in text and "example.com" not in text
    assert text == "Mail [EMAIL] now"
    assert account.seen[0]["answer"] == text  # the audit hashes what the client got


async def test_the_guard_rewrites_a_whole_answer() -> None:
    cfg = config("a")
    pipeline, account, _ = build(cfg, Guard(cfg), a=up(cfg, "a", whole("Mail john@example.com")))
    call = make_call()
    call.data_class = "personal"
    answer = await pipeline.run(call)
    assert answer.body is not None
    content = orjson.loads(answer.body.raw)["choices"][0]["message"]["content"]
    assert content == "Mail [EMAIL]"
    assert account.seen[0]["answer"] == answer.body.raw


async def test_each_streamed_event_is_parsed_once_through_guard_resume_and_meter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = config("a", "b")
    broken = Stream([[chunk("Hello "), chunk("wor")]], breaks=True)
    rerun = Stream([[chunk("Hello world")], [chunk("!", finish="stop"), usage_chunk()]])
    pipeline, _, _ = build(cfg, Guard(cfg), a=up(cfg, "a", broken), b=up(cfg, "b", rerun))
    call = make_call(stream=True)
    call.data_class = "personal"
    await Guard(cfg).before(call)  # the request's PII guard, as the stage sets it
    parses = counting_loads(monkeypatch)
    answer = await pipeline.run(call)
    payloads, notes = await drain(answer)
    assert parses() == 2 + 3  # the events of the first upstream, then of the second
    assert texts(payloads) == "Hello world!" and len(notes) == 1


async def test_a_shadow_copy_runs_through_the_meter_and_account_stages() -> None:
    cfg = config("a", "b", serving=1, shadow={"deployment": "b", "percent": 100})
    providers = {"a": up(cfg, "a", whole("real")), "b": up(cfg, "b", whole("copy"))}
    meter, account = Meter(), Recorder("account")
    shadows = Shadows(cfg, dict[str, Provider](providers), [meter, account], Metrics(), {})
    router = Router(cfg, dict[str, Provider](providers))
    pipeline = Pipeline([meter, account], router.invoke, copy=shadows.copy)
    await shadows.start()
    answer = await pipeline.run(make_call())
    await asyncio.gather(*shadows._tasks)
    await shadows.close()
    assert answer.body is not None and answer.body.raw == whole("real")
    kinds = {s["kind"]: s for s in account.seen}
    assert set(kinds) == {"call", "shadow"}
    shadow = kinds["shadow"]
    assert (shadow["status"], shadow["id"], shadow["attempts"]) == (200, "req-1", [("b", None)])
    assert shadow["usage"].total_tokens == 5
    (sent,) = providers["b"].sent
    assert sent.body["model"] == "up-b" and not sent.stream


async def test_a_failing_shadow_copy_is_recorded_with_its_error() -> None:
    cfg = config("a", "b", serving=1, shadow={"deployment": "b", "percent": 100})
    providers = {"a": up(cfg, "a", whole("real")), "b": up(cfg, "b", UpstreamTimeout("slow"))}
    account = Recorder("account")
    shadows = Shadows(cfg, dict[str, Provider](providers), [Meter(), account], Metrics(), {})
    router = Router(cfg, dict[str, Provider](providers))
    pipeline = Pipeline([Meter(), account], router.invoke, copy=shadows.copy)
    answer = await pipeline.run(make_call())
    await asyncio.gather(*shadows._tasks)
    assert answer.error is None
    shadow = next(s for s in account.seen if s["kind"] == "shadow")
    assert (shadow["status"], shadow["error"]) == (504, "upstream_timeout")
    assert shadow["attempts"] == [("b", "upstream_timeout")]
