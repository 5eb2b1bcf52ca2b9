"""The shape of a translator: one client protocol onto one upstream protocol."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from keel.answer import Event

if TYPE_CHECKING:
    from keel.call import Endpoint
    from keel.errors import BadRequest

__all__ = ["StreamTranslator", "Translator"]


class StreamTranslator(ABC):
    """One stream's translation: upstream events in, the client's events out."""

    @abstractmethod
    def event(self, payload: bytes) -> list[bytes]:
        """The client's events for one upstream SSE ``data:`` payload (maybe none)."""

    @abstractmethod
    def end(self, done: bool) -> list[bytes]:
        """The client's last events once the upstream stream is over (``done``: it said so)."""

    def events(self, payloads: list[bytes]) -> list[Event]:
        """The client's events, parsed, for payloads that arrived together. A translator that
        makes its events as dicts overrides this to wrap them with ``Event.of``: then nothing
        parses them again."""
        return [Event(out) for payload in payloads for out in self.event(payload)]

    def last(self, done: bool) -> list[Event]:
        """``end``'s events, parsed."""
        return [Event(out) for out in self.end(done)]


class Translator(ABC):
    """Takes calls of the ``client`` endpoint to upstreams that serve ``upstream``.

    Shared by every call (it keeps no state); a stream's state is its ``StreamTranslator``."""

    client: Endpoint
    upstream: Endpoint

    @abstractmethod
    def refusal(self, body: dict[str, Any]) -> BadRequest | None:
        """Why this request cannot be translated (a 400 naming the field), or None. Cheap: the
        router asks it of every call before it picks a translated deployment."""

    @abstractmethod
    def request(self, body: dict[str, Any], stream: bool) -> dict[str, Any]:
        """The upstream's request body, for a body ``refusal`` let through: the router asks it
        first, once per routing pass (what is left to refuse is raised as ``BadRequest``)."""

    @abstractmethod
    def response(self, request: dict[str, Any], body: bytes) -> bytes:
        """The client's answer for the upstream's whole answer to ``request``."""

    def answer(self, request: dict[str, Any], body: bytes) -> Event:
        """``response``'s answer, parsed. A translator that makes it as a dict overrides this
        to wrap it with ``Event.of``: then nothing parses it again."""
        return Event(self.response(request, body))

    @abstractmethod
    def stream(self, request: dict[str, Any]) -> StreamTranslator:
        """A translator for the stream of events that answers ``request``."""
