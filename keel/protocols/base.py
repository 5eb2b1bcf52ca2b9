"""The interface every client protocol implements for the stages that read its bodies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from keel.answer import Event

if TYPE_CHECKING:
    from keel.call import Endpoint

__all__ = ["ClientProtocol", "EventGuard", "Seen", "TextFn", "TextGuard", "Tokens"]

#: Token counts as keel keeps them: prompt (cached tokens included), completion, cached.
Tokens = tuple[int, int, int]
TextFn = Callable[[str], str]


@dataclass(slots=True)
class Seen:
    """What a stream's events said so far, as the meter keeps it."""

    tokens: Tokens | None = None
    parts: list[str] = field(default_factory=list)  # the answer's text, piece by piece
    chars: int = 0
    malformed: int = 0  # events that were not JSON objects (kept back, counted)


class TextGuard(Protocol):
    """A guard over one text (a choice's content, a content block, a tool call's arguments):
    whole (``apply``), or streamed (``feed`` what may leave now, ``flush`` the rest)."""

    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...

    def apply(self, text: str) -> str: ...


class EventGuard(Protocol):
    """The data guards over one stream's events: rewrites their texts in place (across event
    boundaries), and may add events (text it held until a block ended)."""

    def feed(self, events: list[Event]) -> list[Event]: ...

    def flush(self) -> list[Event]:
        """The stream broke: events that carry what each text's guard still holds."""
        ...


class ClientProtocol(ABC):
    """How one client protocol's request, answer and stream events are read and rewritten.

    One instance per protocol, shared by every call; it holds no per-call state (what a stream
    needs is handed back to the caller to keep)."""

    #: The protocol's name, as docs and errors speak of it.
    name: str = ""
    #: Its stream events are chat completion chunks: routing can splice them to resume a
    #: broken stream on another deployment.
    chat_chunks: bool = False

    @abstractmethod
    def prompt(self, endpoint: Endpoint, body: dict[str, Any]) -> Any:
        """The part of the request that is the prompt (sized, estimated, hashed for audit)."""

    @abstractmethod
    def resumable(self, endpoint: Endpoint, body: dict[str, Any]) -> bool:
        """Can a stream of this request that broke be continued on another deployment?"""

    @abstractmethod
    def answer_tokens(self, answer: Any) -> Tokens | None:
        """The usage a whole answer reports, or None if it reports none (or a broken one)."""

    @abstractmethod
    def answer_text(self, answer: Any) -> str:
        """A whole answer's text (for an estimate when it reports no usage)."""

    @abstractmethod
    def read_events(self, events: list[Event], seen: Seen, keep_usage: bool) -> list[Event]:
        """Meter a stream's events into ``seen``; the ones to forward. ``keep_usage``: the
        client asked for usage (a protocol that adds usage events on the client's behalf
        keeps them back otherwise)."""

    @abstractmethod
    def starts_answer(self, data: dict[str, Any]) -> bool:
        """Does this stream event carry part of an answer (text, a tool call, a finish)?"""

    @abstractmethod
    def finishes(self, data: dict[str, Any]) -> bool:
        """Does this stream event say the answer is complete?"""

    @abstractmethod
    def map_prompt_text(self, body: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        """``body`` with ``fn`` applied to every prompt text; the same object if none changed."""

    @abstractmethod
    def map_answer_text(self, answer: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        """A whole answer with ``fn`` applied to its texts; the same object if none changed."""

    @abstractmethod
    def event_guard(self, new_guard: Callable[[], TextGuard]) -> EventGuard:
        """A guard over one stream's events, one ``new_guard()`` per text it carries."""

    @abstractmethod
    def screened_messages(self, body: dict[str, Any]) -> list[Any]:
        """The request's messages in chat form, for the prompt-injection screen."""
