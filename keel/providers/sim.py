"""The simulator: a stand-in for an LLM server that answers like OpenAI and takes as long as one.

What it says is deterministic: the words depend only on the deployment's seed, the prompt and the
request's own ``seed``. How long it takes is drawn from log-normal distributions (time to first
token, decode speed) around the configured medians. At most ``capacity`` sequences decode at once;
``max_queue`` more wait in line, first come first served, and the rest get a 503.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import random
import re
import struct
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from keel.call import Endpoint
from keel.config.schema import DeploymentConfig, SimConfig
from keel.errors import BadRequest, Overloaded, UpstreamStatus
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest

__all__ = [
    "Answer",
    "PromptCache",
    "SimProvider",
    "Slots",
    "count_tokens",
    "embed",
    "plan_answer",
]

_VOCABULARY = """
    the a an and or but if then so because while when where what which who how why this that
    these those it its we you they he she our your their my one two three four five many few
    some every each other another more most less least all any both either model answer system
    request token stream server cache queue region cluster network latency budget team record
    price cost value signal pattern result reason method process question example detail note
    point step level layer field table index vector space graph path route node edge policy rule
    limit window buffer batch cycle sample window memory storage engine worker task job event
    message channel service client gateway proxy endpoint version update change release build
    test check review plan design idea story history future moment time day week year hour minute
    is are was were be been being has have had do does did can could will would should may might
    must make take give find keep hold turn show tell ask use run send read write move start stop
    open close grow fall rise learn teach help work call follow lead carry bring try need want mean
    good new first last long great little own old right big high small large next early young
    important few public bad same able clear simple quiet careful steady quick slow light heavy
    warm cold bright dark deep wide narrow strong gentle fair honest calm
    in on at by for with about against between into through during before after above below from
    up down out over under again further once here there now always often never also only very
"""
_VOCAB = tuple(dict.fromkeys(_VOCABULARY.split()))

_WORD = re.compile(r"\w+|[^\w\s]")
_MIN_SLEEP_S = 0.001  # shorter waits are batched: sleeping costs more than it simulates
_MAX_DIMENSIONS = 8192
_OBJECTS = {"chat": "chat.completion", "completions": "text_completion"}
_CHUNK_OBJECTS = {"chat": "chat.completion.chunk", "completions": "text_completion"}
_ID_PREFIXES = {"chat": "chatcmpl-", "completions": "cmpl-"}


def count_tokens(text: str) -> int:
    """Words and punctuation marks: close enough to a real tokenizer for load and cost tests."""
    return len(_WORD.findall(text))


def _prompt_tokens(texts: Iterable[str]) -> int:
    return sum(max(1, count_tokens(text)) for text in texts)  # an empty message still costs


@dataclass(frozen=True, slots=True)
class Answer:
    """What the simulator says to one prompt, as the pieces it streams."""

    pieces: tuple[str, ...]
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int | None = None  # of the prompt, read from the cache (None: no cache)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def usage(self) -> dict[str, Any]:
        completion = len(self.pieces)
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }
        if self.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage


def _invalid(message: str, param: str | None = None) -> UpstreamStatus:
    body = BadRequest(message, param=param).to_body()
    return UpstreamStatus(message, upstream_status=400, body=body)


def _at_capacity() -> UpstreamStatus:
    message = "The simulator is at capacity: every slot is busy and the queue is full. Retry later."
    return UpstreamStatus(message, upstream_status=503, body=Overloaded(message).to_body())


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: only the text ones count
        texts = (p.get("text") for p in content if isinstance(p, dict))
        return " ".join(text for text in texts if isinstance(text, str))
    return ""


def _messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages must be a non-empty array of message objects", "messages")
    if not all(isinstance(m, dict) for m in messages):
        raise _invalid("each message must be an object with a role and content", "messages")
    return [(str(m.get("role", "")), _content_text(m.get("content"))) for m in messages]


def _inputs(body: dict[str, Any], field: str) -> list[str]:
    """A ``prompt`` or ``input``: a string, strings, token ids, or lists of token ids."""
    value = body.get(field)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) for v in value):
            return [" ".join(map(str, value))]
        if all(isinstance(v, str | list) for v in value):
            return [v if isinstance(v, str) else " ".join(map(str, v)) for v in value]
    raise _invalid(f"{field} must be a non-empty string or array", field)


def _prompt(endpoint: Endpoint, body: dict[str, Any]) -> list[tuple[str, str]]:
    if endpoint == "chat":
        return _messages(body)
    return [("prompt", text) for text in _inputs(body, "prompt")]


def _limit(body: dict[str, Any], field: str, highest: int | None = None) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(f"{field} must be a positive integer", field)
    if highest is not None and value > highest:
        raise _invalid(f"{field} must be at most {highest}", field)
    return value


def _digest(*parts: Any) -> int:
    raw = orjson.dumps(parts)
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little")


def plan_answer(sim: SimConfig, endpoint: Endpoint, body: dict[str, Any]) -> Answer:
    """Decide the answer to ``body``: same seed, prompt and request ``seed``, same words."""
    prompt = _prompt(endpoint, body)
    # As text: orjson refuses integers wider than 64 bits, and a client may send any.
    request_seed = str(body["seed"]) if isinstance(body.get("seed"), int) else None
    rng = random.Random(_digest(sim.seed, request_seed, prompt))
    typical = sim.output_tokens
    length = rng.randint(max(1, round(typical * 0.5)), max(1, round(typical * 1.5)))
    cap = _limit(body, "max_completion_tokens") or _limit(body, "max_tokens")
    finish = "stop"
    if cap is not None and cap < length:
        length, finish = cap, "length"
    words = [rng.choice(_VOCAB) for _ in range(length)]
    if words:
        words[0] = words[0].capitalize()
        if finish == "stop":
            words[-1] += "."
    pieces = tuple(w if i == 0 else " " + w for i, w in enumerate(words))
    return Answer(pieces, finish, _prompt_tokens(text for _, text in prompt))


def embed(seed: int, text: str, dimensions: int) -> bytes:
    """A pseudo-random unit vector for ``text``, as little-endian float32 (OpenAI's base64 form)."""
    rng = random.Random(_digest(seed, text))
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return struct.pack(f"<{dimensions}f", *(x / norm for x in raw))


class PromptCache:
    """The prompt prefixes an upstream has seen, as a prefix cache keeps them: a prompt whose
    leading messages were all seen before (in that order) reads their tokens from the cache.
    The oldest prefixes are forgotten past ``size``."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._seen: OrderedDict[int, None] = OrderedDict()

    def read(self, prompt: list[tuple[str, str]]) -> int:
        """The tokens of the longest prefix of ``prompt`` seen before; remember every prefix."""
        cached = tokens = prefix = 0
        for message in prompt:
            size = _prompt_tokens([message[1]])
            prefix = _digest(prefix, message)  # chained: one digest per message, not per prefix
            if prefix in self._seen and cached == tokens:
                cached += size
            tokens += size
            self._seen[prefix] = None
            self._seen.move_to_end(prefix)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return cached


class Slots:
    """At most ``capacity`` holders at once; later arrivals wait first come, first served."""

    def __init__(self, capacity: int, max_queue: int) -> None:
        self.capacity = capacity
        self.max_queue = max_queue
        self.busy = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def admit(self) -> None:
        """Raise a 503 ``UpstreamStatus`` if a newcomer would find the queue already full."""
        if self.busy >= self.capacity and len(self._waiting) >= self.max_queue:
            raise _at_capacity()

    async def acquire(self) -> None:
        if self.busy < self.capacity and not self._waiting:
            self.busy += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # a slot was handed over just as we gave up: pass it on
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes straight to the next in line
                return
        self.busy -= 1


@dataclass(frozen=True, slots=True)
class _Envelope:
    """The fields every answer and chunk of one reply share."""

    endpoint: Endpoint
    id: str
    created: int
    model: str
    usage_chunk: bool

    def _head(self, objects: dict[str, str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": objects[self.endpoint],
            "created": self.created,
            "model": self.model,
        }

    def whole(self, answer: Answer) -> bytes:
        choice: dict[str, Any] = {"index": 0}
        if self.endpoint == "chat":
            choice["message"] = {"role": "assistant", "content": answer.text}
        else:
            choice["text"] = answer.text
        choice |= {"logprobs": None, "finish_reason": answer.finish_reason}
        return orjson.dumps(self._head(_OBJECTS) | {"choices": [choice], "usage": answer.usage()})

    def chunk(self, delta: dict[str, str], finish: str | None = None) -> bytes:
        choice: dict[str, Any] = {"index": 0}
        if self.endpoint == "chat":
            choice["delta"] = delta
        else:
            choice["text"] = delta.get("content", "")
        choice |= {"logprobs": None, "finish_reason": finish}
        data = self._head(_CHUNK_OBJECTS) | {"choices": [choice]}
        if self.usage_chunk:  # OpenAI marks every chunk but the last "usage": null then
            data["usage"] = None
        return orjson.dumps(data)

    def usage(self, answer: Answer) -> bytes:
        return orjson.dumps(self._head(_CHUNK_OBJECTS) | {"choices": [], "usage": answer.usage()})

    def chunks(self, answer: Answer) -> tuple[list[bytes], list[bytes], list[bytes]]:
        """The stream's payloads: those sent with the first token, the tokens, those after."""
        head = [self.chunk({"role": "assistant", "content": ""})] if self.endpoint == "chat" else []
        tokens = [self.chunk({"content": piece}) for piece in answer.pieces]
        tail = [self.chunk({}, answer.finish_reason)]
        if self.usage_chunk:
            tail.append(self.usage(answer))
        return head, tokens, tail


@dataclass(frozen=True, slots=True)
class _Pace:
    ttft_s: float
    token_s: float


async def _sleep(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)


class SimProvider(Provider):
    """An in-process simulated deployment, configured by ``deployment.sim``."""

    def __init__(self, deployment: DeploymentConfig) -> None:
        super().__init__(deployment)
        self.sim = deployment.sim
        self.slots = Slots(self.sim.capacity, self.sim.max_queue)
        # One sequence of draws per deployment, not one per prompt: a benchmark that repeats a
        # single prompt must still see the configured spread of latencies.
        self._rng = random.Random(self.sim.seed)
        self.prompt_cache = PromptCache() if self.sim.prompt_cache else None

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        if request.endpoint == "embeddings":
            return await self._embeddings(request.body)
        answer = plan_answer(self.sim, request.endpoint, request.body)
        if self.prompt_cache is not None:
            cached = self.prompt_cache.read(_prompt(request.endpoint, request.body))
            answer = replace(answer, cached_tokens=cached)
        envelope = self._envelope(request)
        self.slots.admit()
        if not request.stream:
            await self._hold(self._pace(), len(answer.pieces))
            return UpstreamReply(body=envelope.whole(answer))
        reply = UpstreamReply()
        reply.events = self._events(reply, envelope, answer, self._pace())
        return reply

    def _envelope(self, request: UpstreamRequest) -> _Envelope:
        body = request.body
        options = body.get("stream_options")
        usage_chunk = isinstance(options, dict) and options.get("include_usage") is True
        return _Envelope(
            endpoint=request.endpoint,
            id=_ID_PREFIXES[request.endpoint] + uuid.uuid4().hex[:24],
            created=int(time.time()),
            model=str(body.get("model") or self.deployment.model),
            usage_chunk=request.stream and usage_chunk,
        )

    def _pace(self) -> _Pace:
        ttft_s = _lognormal(self._rng, self.sim.ttft_ms / 1000, self.sim.ttft_sigma)
        speed = _lognormal(self._rng, self.sim.tokens_per_s, self.sim.tokens_per_s_sigma)
        return _Pace(ttft_s, 1 / speed)

    async def _hold(self, pace: _Pace, tokens: int) -> None:
        """Take a slot for as long as the whole answer would take to generate."""
        await self.slots.acquire()
        try:
            await _sleep(pace.ttft_s + tokens * pace.token_s)
        finally:
            self.slots.release()

    async def _events(
        self, reply: UpstreamReply, envelope: _Envelope, answer: Answer, pace: _Pace
    ) -> AsyncIterator[list[bytes]]:
        # The slot is taken here, not in send(): a stream nobody starts never holds one.
        head, tokens, tail = envelope.chunks(answer)
        await self.slots.acquire()
        try:
            await _sleep(pace.ttft_s)
            yield list(head)
            loop = asyncio.get_running_loop()
            start = loop.time()
            for i, payload in enumerate(tokens):
                # Paced against the clock so that sleep overshoot does not add up over tokens.
                if (delay := start + i * pace.token_s - loop.time()) >= _MIN_SLEEP_S:
                    await asyncio.sleep(delay)
                yield [payload]
            yield list(tail)
            reply.done = True
        finally:
            self.slots.release()

    async def _embeddings(self, body: dict[str, Any]) -> UpstreamReply:
        texts = _inputs(body, "input")
        dimensions = _limit(body, "dimensions", _MAX_DIMENSIONS) or 64
        as_base64 = body.get("encoding_format") == "base64"
        self.slots.admit()
        await self._hold(self._pace(), 0)  # prefill only: an embedding decodes no tokens
        data = []
        for index, text in enumerate(texts):
            packed = embed(self.sim.seed, text, dimensions)
            vector: Any = (
                base64.b64encode(packed).decode()
                if as_base64
                else list(struct.unpack(f"<{dimensions}f", packed))
            )
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = _prompt_tokens(texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        model = str(body.get("model") or self.deployment.model)
        body_out = {"object": "list", "data": data, "model": model, "usage": usage}
        return UpstreamReply(body=orjson.dumps(body_out))


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma) if median > 0 else 0.0
