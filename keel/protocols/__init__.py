"""Client protocols: what keel's stages read of a call's bodies, whichever protocol it speaks.

A stage that reads a body (the guard's PII walk, the meter's usage and stream text, the worst
case's prompt size, the audit record's prompt, routing's first token and finish) asks the call's
``ClientProtocol`` (``call.protocol``) instead of assuming Chat Completions:

    base.py       the interface, and what a stream's reader keeps (``Seen``)
    openai.py     OpenAI's chat, completions and embeddings bodies: the default
    anthropic.py  Anthropic's Messages bodies (``/v1/messages``)

Translating between protocols is another job: ``keel.translate``.
"""

from keel.protocols.base import ClientProtocol, EventGuard, Seen, TextFn, Tokens

__all__ = ["ClientProtocol", "EventGuard", "Seen", "TextFn", "Tokens"]
