"""OpenAI Responses clients on Chat Completions upstreams: request (request.py), whole answer
(response.py) and stream (stream.py) translated."""

from __future__ import annotations

from typing import Any

from keel.answer import Event
from keel.errors import BadRequest
from keel.translate.base import StreamTranslator, Translator
from keel.translate.responses_chat.request import chat_body, check_request
from keel.translate.responses_chat.response import response_of, to_response
from keel.translate.responses_chat.stream import ChunksToEvents

__all__ = ["ResponsesToChat"]


class ResponsesToChat(Translator):
    """``/v1/responses`` calls to deployments that serve only Chat Completions."""

    client = "responses"
    upstream = "chat"

    def refusal(self, body: dict[str, Any]) -> BadRequest | None:
        return check_request(body)

    def request(self, body: dict[str, Any], stream: bool) -> dict[str, Any]:
        return chat_body(body, stream)

    def response(self, request: dict[str, Any], body: bytes) -> bytes:
        return to_response(request, body)

    def answer(self, request: dict[str, Any], body: bytes) -> Event:
        return Event.of(response_of(request, body))

    def stream(self, request: dict[str, Any]) -> StreamTranslator:
        return ChunksToEvents(request)
