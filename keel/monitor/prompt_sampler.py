"""Which finished calls' prompts the embedding drift monitor embeds (keel.monitor.embeddings).

A call is eligible when a client made it (not a shadow copy) to an LLM endpoint other than
embeddings, it was answered (status below 400: a prompt a guard blocked is never embedded),
and its data class allows it (``DataClassConfig.allows_prompt_embedding``; a call without a
class does). Of the eligible calls a uniform ``share`` is taken, at most ``per_minute`` per
logical model and ``total_per_minute`` over all, so the embedding thread's work is bounded
whatever the traffic. The text taken is the prompt's newest part (a chat's last message): a
system prompt shared by every call would dominate each embedding and, at the model's 256-token
limit, cut the question off.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from keel.call import CLIENT_ENDPOINTS, Call
from keel.config.monitors import EmbeddingDriftConfig
from keel.config.security import DataClassConfig

__all__ = ["MAX_CHARS", "PromptSampler", "newest_prompt_text"]

MAX_CHARS = 2000  # beyond the model's 256 tokens for any language: the rest would be cut anyway
_LLM = frozenset(CLIENT_ENDPOINTS) - {"embeddings"}


class PromptSampler:
    def __init__(
        self,
        settings: EmbeddingDriftConfig,
        classes: Mapping[str, DataClassConfig],
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._allowed = {name: spec.allows_prompt_embedding() for name, spec in classes.items()}
        self._rng = rng or random.Random()
        self._minute = -1
        self._per_model: dict[str, int] = {}
        self._total = 0

    def eligible(self, call: Call) -> bool:
        if call.kind != "call" or call.endpoint not in _LLM or not call.model:
            return False
        if call.status >= 400:
            return False
        return call.data_class is None or self._allowed.get(call.data_class, False)

    def take(self, call: Call, now: float) -> str | None:
        """The prompt text to embed, or None: not eligible, not drawn, or over a cap."""
        if not self.eligible(call) or self._rng.random() >= self.settings.share:
            return None
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self._per_model, self._total = minute, {}, 0
        taken = self._per_model.get(call.model, 0)
        if taken >= self.settings.per_minute or self._total >= self.settings.total_per_minute:
            return None
        text = newest_prompt_text(call)
        if not text.strip():
            return None
        self._per_model[call.model] = taken + 1
        self._total += 1
        return text[:MAX_CHARS]


def newest_prompt_text(call: Call) -> str:
    """The last prompt text of the call's body, as its protocol reads it ("" if none)."""
    last = ""

    def take(text: str) -> str:
        nonlocal last
        last = text
        return text

    call.protocol.map_prompt_text(call.body, take)
    return last
