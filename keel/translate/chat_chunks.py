"""What every translator of a Chat Completions stream does alike: parse each chunk once, hand
an error chunk on, start the client's stream at the first chunk, follow the first choice, and
finish once both the finish and the usage chunk are in (or the stream ends).

A subclass says what its protocol makes of it (``_start``, ``_choice``, ``_close``, ``_stop``,
``_error``) and adds its events with ``_add``; the events of chunks that arrived together are
gathered in ``out``, and ``piece`` is the open item's last delta while more of it may join.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import orjson

from keel.answer import Event
from keel.translate.base import StreamTranslator

__all__ = ["ChatChunkStream"]


class ChatChunkStream(StreamTranslator):
    def __init__(self) -> None:
        self.finish: Any = None  # set by ``_choice`` once the choice finished
        self.usage: Any = None
        self.stopped = False  # ``_stop`` ran: nothing more is sent
        self.out: list[Event] = []  # the events of the chunks being translated
        # The last event in ``out`` while it is a delta of the open item: the item's next
        # piece is added to it.
        self.piece: dict[str, Any] | None = None

    def events(self, payloads: list[bytes]) -> list[Event]:
        out = self.out = []
        self.piece = None
        for payload in payloads:
            self._chunk(payload)
        return out

    def last(self, done: bool) -> list[Event]:
        out = self.out = []
        self.piece = None
        if self.stopped or (self.finish is None and not done):
            return out  # cut short: no finish to report; routing says it broke
        self._start({})
        self._close()
        self._stop()
        return out

    def event(self, payload: bytes) -> list[bytes]:
        return [event.raw for event in self.events([payload])]

    def end(self, done: bool) -> list[bytes]:
        return [event.raw for event in self.last(done)]

    def _chunk(self, payload: bytes) -> None:
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self._add(Event(payload))  # the meter counts it and keeps it back
            return
        if type(chunk) is not dict or self.stopped:
            return
        error = chunk.get("error")
        if type(error) is dict:  # routing reads it and ends the stream
            self._error(error)
            return
        self._start(chunk)
        usage = chunk.get("usage")
        if usage is not None:
            self.usage = usage
        choices = chunk.get("choices")
        if type(choices) is list and choices and type(choices[0]) is dict:
            self._choice(choices[0])
        if self.finish is not None and self.usage is not None:
            self._stop()

    def _add(self, event: Event) -> None:
        self.out.append(event)
        self.piece = None

    @abstractmethod
    def _start(self, chunk: dict[str, Any]) -> None:
        """Begin the client's stream, once (later calls do nothing)."""

    @abstractmethod
    def _choice(self, choice: dict[str, Any]) -> None:
        """One chunk's first choice: its pieces, and its finish (set ``finish``)."""

    @abstractmethod
    def _close(self) -> None:
        """Close the open item, if any."""

    @abstractmethod
    def _stop(self) -> None:
        """The client's last events (set ``stopped``)."""

    @abstractmethod
    def _error(self, error: dict[str, Any]) -> None:
        """An upstream's error chunk, in the client's protocol."""
