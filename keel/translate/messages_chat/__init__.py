"""Anthropic Messages clients on Chat Completions upstreams: request (request.py), whole answer
(response.py) and stream (stream.py) translated."""

from __future__ import annotations

from typing import Any

from keel.errors import BadRequest
from keel.translate.base import StreamTranslator, Translator
from keel.translate.messages_chat.request import chat_body, check_request
from keel.translate.messages_chat.response import to_message
from keel.translate.messages_chat.stream import ChunksToEvents

__all__ = ["MessagesToChat"]


class MessagesToChat(Translator):
    """``/v1/messages`` calls to deployments that serve only Chat Completions."""

    client = "messages"
    upstream = "chat"

    def refusal(self, body: dict[str, Any]) -> BadRequest | None:
        return check_request(body)

    def request(self, body: dict[str, Any], stream: bool) -> dict[str, Any]:
        return chat_body(body, stream)

    def response(self, request: dict[str, Any], body: bytes) -> bytes:
        return to_message(request, body)

    def stream(self, request: dict[str, Any]) -> StreamTranslator:
        return ChunksToEvents(request)
