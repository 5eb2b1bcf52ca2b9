"""Translators between a client's protocol and an upstream's, at the provider boundary.

A call goes to the deployment the router picked. If its provider serves the call's endpoint,
the call is sent natively; else, if a translator knows a pair (the client's endpoint, one the
provider serves), the provider is wrapped in it (``Translated``): the request is translated on
the way up, the answer (whole, or each stream event) on the way back, so every stage sees the
answer in the client's protocol. One translator per client protocol x upstream protocol pair,
each with the same three hooks (request, response, stream events):

    base.py             the interface: ``Translator`` and its per-stream ``StreamTranslator``
    provider.py         ``Translated``: a provider with a translator around it
    messages_chat/      Anthropic Messages clients on Chat Completions upstreams
    responses_chat/     OpenAI Responses clients on Chat Completions upstreams
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keel.translate.base import StreamTranslator, Translator
from keel.translate.messages_chat import MessagesToChat
from keel.translate.provider import Translated
from keel.translate.responses_chat import ResponsesToChat

if TYPE_CHECKING:
    from keel.call import Endpoint
    from keel.providers.base import Provider

__all__ = ["StreamTranslator", "Translated", "Translator", "sender", "translator"]

_TRANSLATORS: tuple[Translator, ...] = (MessagesToChat(), ResponsesToChat())


def translator(endpoint: Endpoint, served: frozenset[Endpoint]) -> Translator | None:
    """The translator that takes ``endpoint``'s calls to one of ``served``, if any."""
    for found in _TRANSLATORS:
        if found.client == endpoint and found.upstream in served:
            return found
    return None


def sender(provider: Provider, endpoint: Endpoint) -> Provider | None:
    """What sends ``endpoint``'s calls to ``provider``: itself if it serves the endpoint
    natively, it translated if it can be, else None."""
    if endpoint in provider.endpoints:
        return provider
    found = translator(endpoint, provider.endpoints)
    return Translated(provider, found) if found is not None else None
