"""What a call gives back: an ``Answer``, a whole body or a stream of events.

Every payload an upstream sends is an ``Event``: its bytes as they came, parsed at most once,
however many stages read it, and encoded again only if a stage changed it. A protocol module at
the edge turns an ``Answer`` into its wire format; nothing here knows HTTP.

The payloads are OpenAI-shaped (chat completion chunks, completions, embeddings): every provider
adapter speaks that shape to keel, so the readers of a chunk's parts are here too.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson

if TYPE_CHECKING:
    import numpy.typing as npt

    from keel.errors import KeelError

__all__ = [
    "Answer",
    "Event",
    "Events",
    "Item",
    "Items",
    "Resumed",
    "calls_a_tool",
    "choice_text",
    "starts_answer",
]

# Delta fields besides content that carry an answer; a chunk with only a role (or empty
# content) does not.
_ANSWER_FIELDS = ("text", "tool_calls", "function_call", "refusal", "reasoning_content")


class Event:
    """One JSON payload: a stream's event (an SSE ``data:`` line) or a whole answer's body.

    It is parsed when it is made: every payload is read by some stage (the first-token wait,
    the relay, the meter), and each reads ``data``, the parsed object, which is then a plain
    attribute. A stage that changes ``data`` in place calls ``changed``; ``raw`` then encodes
    it again, once."""

    __slots__ = ("_raw", "data", "value")

    def __init__(self, raw: bytes) -> None:
        self._raw: bytes | None = raw
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = _NOT_JSON
        self.value = value  # the parsed JSON value, whatever it is
        self.data: dict[str, Any] | None = value if type(value) is dict else None

    @classmethod
    def of(cls, data: dict[str, Any], raw: bytes | None = None) -> Event:
        """An event keel made itself: nothing to parse; encoded once, when it is sent (``raw``:
        already encoded)."""
        event = cls.__new__(cls)
        event._raw = raw
        event.value = event.data = data
        return event

    @property
    def json(self) -> bool:
        """Whether the payload is JSON at all."""
        return self.value is not _NOT_JSON

    def changed(self) -> None:
        """A stage changed ``data`` in place: ``raw`` encodes it again."""
        self._raw = None

    def replace(self, data: dict[str, Any]) -> None:
        """The payload is now ``data``."""
        self.value = self.data = data
        self._raw = None

    @property
    def raw(self) -> bytes:
        """The bytes to send: as they came, unless a stage changed the payload."""
        raw = self._raw
        if raw is None:
            raw = self._raw = orjson.dumps(self.value)
        return raw

    def __repr__(self) -> str:
        return f"Event({self.raw!r})"


_NOT_JSON: Any = object()


@dataclass(frozen=True, slots=True)
class Resumed:
    """A stream broke on ``broken`` (``code``) and goes on from ``target`` by ``kind``
    (prefill or rerun): the edge may tell a reader of the raw stream."""

    broken: str
    target: str
    code: str
    kind: str


# What a stream yields: the events that arrived together (forwarded in one write), or a note.
Item = list[Event] | Resumed


class Events(Protocol):
    """A stream's items as they come. Iterate it to its end or close it: either ends it
    upstream and gives back what it holds."""

    def __aiter__(self) -> AsyncIterator[Item]: ...

    def __anext__(self) -> Awaitable[Item]: ...

    async def aclose(self) -> None: ...


class Items:
    """A stream's items from an async generator that cleans up in its ``finally``. Closed
    before its first item, when that ``finally`` has not started, it runs ``abandon``
    instead, so what the stream holds (a deployment slot, an upstream connection, the
    call's record) is given back either way."""

    __slots__ = ("_abandon", "_closed", "_items", "_started")

    def __init__(
        self, items: AsyncGenerator[Item, None], abandon: Callable[[], Awaitable[None]]
    ) -> None:
        self._items = items
        self._abandon = abandon
        self._started = False
        self._closed = False

    def __aiter__(self) -> Items:
        return self

    def __anext__(self) -> Awaitable[Item]:
        # The generator's own awaitable: no coroutine of its own on the path of each item.
        self._started = True
        return self._items.__anext__()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._items.aclose()
        if not self._started:
            await self._abandon()


@dataclass(slots=True)
class Answer:
    """A call's outcome. Exactly one of ``body`` (a whole answer), ``events`` (a stream),
    ``tensors`` (a predictive model's outputs) and ``error`` (the call failed: what the
    client is told) is set.

    A stream's ``ended`` is set once its events are exhausted: None if it finished, else the
    error that ended it (the client already has a 200 and part of the answer)."""

    body: Event | None = None
    events: Events | None = None
    error: KeelError | None = None
    ended: KeelError | None = field(default=None)
    tensors: dict[str, npt.NDArray[Any]] | None = None


def choice_text(choice: Any) -> str:
    """The text a chunk's (or an answer's) choice carries."""
    if not isinstance(choice, dict):
        return ""
    text = choice.get("text")
    if isinstance(text, str):
        return text
    message = choice.get("message") or choice.get("delta") or {}
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def calls_a_tool(choice: Any) -> bool:
    delta = choice.get("delta") if isinstance(choice, dict) else None
    return isinstance(delta, dict) and bool(delta.get("tool_calls") or delta.get("function_call"))


def starts_answer(event: dict[str, Any]) -> bool:
    """Does this chunk carry part of an answer (text, a tool call, a finish)?"""
    choices = event.get("choices")
    if not isinstance(choices, list):
        return False
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        if choice.get("finish_reason"):
            return True
        delta = choice.get("delta")
        part = delta if isinstance(delta, dict) else choice  # completions put text on the choice
        if part.get("content") or any(part.get(f) for f in _ANSWER_FIELDS):
            return True
    return False
