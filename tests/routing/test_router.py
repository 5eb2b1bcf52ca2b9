"""The router on its own: which deployments a call may use, the order it tries them in, what
each failure leads to, the queue, the breaker, context fallback, and a stream's slot."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keel.call import Principal
from keel.config.schema import DeploymentConfig, KeelConfig
from keel.errors import (
    ModelNotFound,
    Overloaded,
    PermissionDenied,
    ResidencyViolation,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from keel.providers.base import Provider
from keel.routing.router import Router, retry_wait
from tests.pipeline.upstreams import Scripted, Stream, chunk, make_call, whole


def config(**extra: Any) -> KeelConfig:
    base: dict[str, Any] = {
        "regions": {"eu": {}, "us": {}},
        "deployments": [
            {"name": "a", "provider": "sim", "model": "up-a", "region": "eu", "retries": 0},
            {"name": "b", "provider": "sim", "model": "up-b", "region": "us", "retries": 0},
            {"name": "big", "provider": "sim", "model": "up-big", "region": "eu", "retries": 0},
        ],
        "models": {"m": ["a", "b"], "large": ["big"]},
        "teams": {"t": {}},
        "data_classes": {"eu-only": {"regions": ["eu"]}},
    }
    for key, value in extra.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    return KeelConfig.model_validate(base)


def router(cfg: KeelConfig, **scripts: list[Any]) -> tuple[Router, dict[str, Scripted]]:
    providers = {d.name: Scripted(d, *scripts.get(d.name, [])) for d in cfg.deployments}
    return Router(cfg, dict[str, Provider](providers)), providers


async def test_an_unknown_model_names_the_ones_the_caller_may_use() -> None:
    r, _ = router(config())
    call = make_call()
    call.model = "nope"
    with pytest.raises(ModelNotFound) as caught:
        await r.invoke(call)
    assert "Models your key may use: m, large" in caught.value.message


async def test_a_model_the_team_may_not_use_is_a_403() -> None:
    r, _ = router(config())
    call = make_call()
    call.principal = Principal(team="t", key_id="k", models=("large",))
    with pytest.raises(PermissionDenied):
        await r.invoke(call)


async def test_a_data_class_keeps_the_call_in_its_regions_through_failover() -> None:
    r, providers = router(config(), a=[UpstreamUnavailable("reset")])
    call = make_call()
    call.data_class = "eu-only"
    with pytest.raises(UpstreamUnavailable):
        await r.invoke(call)
    assert providers["b"].sent == []  # b is in the us: never asked, even as a fallback
    call = make_call()
    call.model, call.data_class = "m", "eu-only"
    cfg = config(models={"m": ["b"]})
    r, _ = router(cfg)
    with pytest.raises(ResidencyViolation):
        await r.invoke(call)


async def test_deployments_are_tried_in_order_and_each_failure_is_an_attempt() -> None:
    r, providers = router(config(), a=[UpstreamTimeout("slow")], b=[whole("hi")])
    call = make_call()
    answer = await r.invoke(call)
    assert answer.body is not None and answer.body.raw == whole("hi")
    assert [(a.deployment, a.error) for a in call.attempts] == [
        ("a", "upstream_timeout"),
        ("b", None),
    ]
    assert providers["b"].sent[0].body["model"] == "up-b"
    assert (call.deployment, call.region) == ("b", "us")


async def test_a_retry_goes_to_the_same_deployment_first() -> None:
    cfg = config()
    deployments = [{**d.model_dump(), "retries": 1, "backoff_s": 0.001} for d in cfg.deployments]
    r, providers = router(config(deployments=deployments),
                          a=[UpstreamUnavailable("reset"), whole("second try")])  # fmt: skip
    answer = await r.invoke(call := make_call())
    assert answer.body is not None and answer.body.raw == whole("second try")
    assert [a.deployment for a in call.attempts] == ["a", "a"] and providers["b"].sent == []


async def test_a_client_error_is_returned_without_trying_another() -> None:
    bad = UpstreamStatus("HTTP 400", upstream_status=400, body=b"{}")
    r, providers = router(config(), a=[bad])
    with pytest.raises(UpstreamStatus):
        await r.invoke(make_call())
    assert providers["b"].sent == []


async def test_a_context_length_error_falls_back_to_the_larger_model() -> None:
    too_long = UpstreamStatus("HTTP 400", upstream_status=400,
                              body=b'{"error": {"code": "context_length_exceeded"}}')  # fmt: skip
    cfg = config(models={"m": {"deployments": ["a", "b"], "context_fallback": "large"}})
    r, providers = router(cfg, a=[too_long], big=[whole("long")])
    answer = await r.invoke(call := make_call())
    assert answer.body is not None and answer.body.raw == whole("long")
    assert [a.deployment for a in call.attempts] == ["a", "big"] and providers["b"].sent == []


async def test_an_open_breaker_is_skipped_and_named_when_all_are_open() -> None:
    r, _ = router(config())
    for name in ("a", "b"):
        breaker = r.targets[name].breaker
        for _ in range(20):
            breaker.failure()
    with pytest.raises(Overloaded) as caught:
        await r.invoke(call := make_call())
    assert caught.value.code == "circuit_open"
    assert [(a.deployment, a.error) for a in call.attempts] == [
        ("a", "circuit_open"),
        ("b", "circuit_open"),
    ]


async def test_a_full_deployment_queues_the_call_until_a_slot_frees() -> None:
    cfg = config()
    deployments = [{**d.model_dump(), "max_concurrency": 1, "max_queue": 1,
                    "queue_timeout_s": 30} for d in cfg.deployments]  # fmt: skip
    r, _ = router(config(deployments=deployments, models={"m": ["a"]}), a=[whole("queued")])
    r.targets["a"].acquire()  # another call holds the only slot
    waiting = asyncio.create_task(r.invoke(call := make_call()))
    await asyncio.sleep(0)
    assert not waiting.done()
    r.targets["a"].release()
    answer = await waiting
    assert answer.body is not None and call.attempts[0].error == "overloaded"
    assert r.targets["a"].in_flight == 0


async def test_a_full_deployment_with_no_queue_is_a_503() -> None:
    cfg = config()
    deployments = [{**d.model_dump(), "max_concurrency": 1, "max_queue": 0}
                   for d in cfg.deployments]  # fmt: skip
    r, _ = router(config(deployments=deployments, models={"m": ["a"]}))
    r.targets["a"].acquire()
    with pytest.raises(Overloaded) as caught:
        await r.invoke(make_call())
    assert "at their concurrency limit" in caught.value.message


async def test_a_stream_holds_its_slot_until_it_ends() -> None:
    stream = Stream([[chunk("Hi")], [chunk(finish="stop")]])
    r, providers = router(config(), a=[stream])
    answer = await r.invoke(make_call(stream=True))
    assert answer.events is not None and r.targets["a"].in_flight == 1
    items = [item async for item in answer.events]
    assert len(items) == 2 and r.targets["a"].in_flight == 0
    assert providers["a"].closed == 1


async def test_a_stream_closed_unread_gives_its_slot_back() -> None:
    r, providers = router(config(), a=[Stream([[chunk("Hi")], [chunk(finish="stop")]])])
    answer = await r.invoke(make_call(stream=True))
    assert answer.events is not None
    await answer.events.aclose()
    assert r.targets["a"].in_flight == 0 and providers["a"].closed == 1


def test_retry_wait_honours_retry_after_only_within_the_deadline() -> None:
    d = DeploymentConfig(name="d", provider="sim", model="m", region="r", retries=2)
    late = UpstreamStatus("429", upstream_status=429, body=b"{}", retry_after_s=5.0)
    assert retry_wait(late, 0, d, remaining_s=10.0) == 5.0
    assert retry_wait(late, 0, d, remaining_s=3.0) is None
    assert retry_wait(late, 2, d, remaining_s=10.0) is None  # retries used up
    jittered = retry_wait(UpstreamUnavailable("reset"), 1, d, remaining_s=10.0)
    assert jittered is not None and 0 <= jittered <= min(d.backoff_max_s, d.backoff_s * 2)
