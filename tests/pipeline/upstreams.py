"""Scripted upstreams for core tests: a provider that answers each request as told, and the
config and stages to run calls through ``Pipeline.run`` without HTTP."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from keel.answer import Answer, Event, Resumed
from keel.call import Call, Principal
from keel.config.schema import DeploymentConfig, KeelConfig
from keel.errors import StreamBroken, UpstreamError
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest

MESSAGES = [{"role": "user", "content": "hi"}]


def chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    return orjson.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def usage_chunk(prompt: int = 3, completion: int = 2) -> bytes:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion}
    return orjson.dumps({"choices": [], "usage": usage, "id": "c"})


def whole(text: str) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", "content": text}}
    return orjson.dumps(
        {"choices": [choice], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    )


@dataclass
class Stream:
    """A scripted stream: these reads, then [DONE] unless ``breaks``."""

    reads: list[list[bytes]]
    breaks: bool = False


Script = bytes | Stream | UpstreamError


class Scripted(Provider):
    """Answers each request with the next of its script; keeps what it was sent."""

    def __init__(self, deployment: DeploymentConfig, *script: Script) -> None:
        super().__init__(deployment)
        self.script: deque[Script] = deque(script)
        self.sent: list[UpstreamRequest] = []
        self.closed = 0

    def answer(self, *script: Script) -> None:
        self.script.extend(script)

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        self.sent.append(request)
        step = self.script.popleft()
        if isinstance(step, UpstreamError):
            raise step
        if isinstance(step, bytes):
            return UpstreamReply(body=step)
        reply = UpstreamReply()
        reply.events = self._events(step, reply)
        return reply

    async def _events(self, stream: Stream, reply: UpstreamReply) -> AsyncIterator[list[bytes]]:
        try:
            for read in stream.reads:
                yield read
            if stream.breaks:
                raise StreamBroken(f"deployment {self.deployment.name}: connection reset")
            reply.done = True
        finally:
            self.closed += 1


def config(*deployments: str, serving: int | None = None, **model: Any) -> KeelConfig:
    """A model ``m`` over the named deployments (each in region ``local``; only the first
    ``serving`` of them, if given), as ``model`` says."""
    return KeelConfig.model_validate({
        "regions": {"local": {}, "elsewhere": {}},
        "deployments": [
            {"name": name, "provider": "sim", "model": f"up-{name}", "region": "local",
             "retries": 0, "price": {"input_per_mtok": 1000, "output_per_mtok": 1000}}
            for name in deployments
        ],
        "models": {"m": {"deployments": list(deployments[:serving]), **model}},
        "teams": {"t": {}},
        "data_classes": {"personal": {"regions": ["local"],
                                      "pii": {"prompts": "allow", "answers": "redact"}}},
    })  # fmt: skip


def make_call(stream: bool = False, **body: Any) -> Call:
    c = Call(id="req-1", endpoint="chat", body={"model": "m", "messages": MESSAGES,
             "stream": stream, **body}, model="m", stream=stream)  # fmt: skip
    c.principal = Principal(team="t", key_id="k", models=("*",))
    return c


@dataclass
class Recorder:
    """A stage that notes each before and after, and the call as it was at its after; it can
    be told to refuse (before) or to fail (after)."""

    name: str = "recorder"
    log: list[str] = field(default_factory=list)
    refuse: Exception | None = None
    fail: Exception | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def before(self, call: Call) -> None:
        self.log.append(f"before {self.name}")
        if self.refuse is not None:
            raise self.refuse

    async def after(self, call: Call) -> None:
        self.log.append(f"after {self.name}")
        attempts = [(a.deployment, a.error) for a in call.attempts]
        self.seen.append({"status": call.status, "error": call.error, "usage": call.usage,
                          "answer": call.answer, "kind": call.kind, "id": call.id,
                          "attempts": attempts})  # fmt: skip
        if self.fail is not None:
            raise self.fail


async def drain(answer: Answer) -> tuple[list[bytes], list[Resumed]]:
    """Read a streamed answer to its end: the payloads as the client gets them, the notes."""
    assert answer.events is not None
    payloads: list[bytes] = []
    notes: list[Resumed] = []
    async for item in answer.events:
        if isinstance(item, Resumed):
            notes.append(item)
        else:
            payloads += [event.raw for event in item]
    return payloads, notes


def texts(payloads: list[bytes]) -> str:
    out = []
    for payload in payloads:
        for choice in orjson.loads(payload).get("choices") or ():
            out.append((choice.get("delta") or {}).get("content") or "")
    return "".join(out)


def counting_loads(monkeypatch: Any) -> Callable[[], int]:
    """Count every JSON parse of an event or body in keel (keel.answer parses them all)."""
    import keel.answer

    calls = 0
    real = orjson.loads

    def loads(data: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(keel.answer.orjson, "loads", loads)
    return lambda: calls


__all__ = [
    "Event",
    "Recorder",
    "Scripted",
    "Stream",
    "chunk",
    "config",
    "counting_loads",
    "drain",
    "make_call",
    "texts",
    "usage_chunk",
    "whole",
]
