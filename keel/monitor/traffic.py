"""LLM traffic as Prometheus metrics, per logical model, deployment and rollout arm: prompt
and answer length, tokens per request, answers by outcome (ok, refusal, tool_call, error,
retried) and the prompts' language. Read from finished calls off the hot path (keel.monitor.tap);
no text is kept: each call's texts are measured and let go.

A refusal is an answer the upstream flagged (``content_filter``, ``refusal``) or whose text
opens with a refusal ("I can't help with that", and the same in nine more languages). A tool
call is a whole answer that asks for one; a stream's tool calls are not seen (its text is).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from keel.call import CLIENT_ENDPOINTS, Call
from keel.monitor.language import language_of
from keel.monitor.metrics import Metrics

__all__ = ["TrafficMonitor", "is_refusal"]

# {A}: an apostrophe, straight or curly
_REFUSAL = re.compile(
    r"^\W*(?:i{A}?m sorry,? but i (?:can{A}?t|cannot|won{A}?t)|"
    r"i (?:can{A}?t|cannot|won{A}?t|am (?:not able|unable) to) "
    r"(?:help|assist|comply|provide|do that|fulfil)|"
    r"(?:sorry|unfortunately),? (?:but )?i (?:can{A}?t|cannot)|"
    r"as an ai\b.{0,40}\b(?:can{A}?t|cannot)|"
    r"es tut mir leid, (?:aber )?(?:ich kann|das kann ich)|ich kann (?:dabei )?nicht helfen|"
    r"je suis désolé,? mais je ne peux pas|je ne peux pas (?:vous )?aider|"
    r"lo siento,? (?:pero )?no puedo|no puedo ayudar|"
    r"mi dispiace,? ma non posso|non posso aiutar|"
    r"desculpe,? mas não posso|não posso ajudar|"
    r"het spijt me,? maar ik kan|ik kan (?:je )?daar niet mee helpen|"
    r"przykro mi,? ale nie mogę|nie mogę pomóc|"
    r"申し訳(?:ありませんが|ございませんが)|抱歉\uff0c?我(?:无法|不能)|"
    r"извините,? (?:но )?я не могу|я не могу помочь)".replace("{A}", r"['\u2019]"),
    re.IGNORECASE,
)
_FLAGGED = re.compile(
    rb'"(?:finish_reason|stop_reason)"\s*:\s*"(?:content_filter|refusal)"|"refusal"\s*:\s*"'
)
_TOOL = re.compile(rb'"tool_calls"\s*:\s*\[\s*\{|"type"\s*:\s*"(?:tool_use|function_call)"')
_LLM = frozenset(CLIENT_ENDPOINTS) - {"embeddings"}


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.match(text[:200]))


class _Series:
    """One (model, deployment, arm)'s metric children, looked up once (``labels`` is most of
    what a sample costs)."""

    __slots__ = ("answer_chars", "answers", "completion_tokens", "prompt_chars", "prompt_tokens")

    def __init__(self, m: Metrics, model: str, deployment: str, arm: str) -> None:
        self.prompt_chars = m.prompt_chars.labels(model, deployment, arm)
        self.answer_chars = m.answer_chars.labels(model, deployment, arm)
        self.prompt_tokens = m.tokens_per_request.labels(model, deployment, arm, "prompt")
        self.completion_tokens = m.tokens_per_request.labels(model, deployment, arm, "completion")
        self.answers = {o: m.answers.labels(model, deployment, arm, o) for o in OUTCOMES}


OUTCOMES = ("ok", "refusal", "tool_call", "error", "retried")
_MAX_SERIES = 10_000  # label sets remembered; past it, the cache starts again


class TrafficMonitor:
    name = "traffic"

    def __init__(self, metrics: Metrics, arm_of: Callable[[Call], str]) -> None:
        self.metrics = metrics
        self.arm_of = arm_of
        self._series: dict[tuple[str, str, str], _Series] = {}
        self._languages: dict[tuple[str, str], Any] = {}

    def read(self, call: Call) -> None:
        if call.kind != "call" or call.endpoint not in _LLM or not call.model:
            return
        series = self._of(call.model, _deployment(call), self.arm_of(call))
        prompt = _prompt_text(call)
        series.prompt_chars.observe(len(prompt))
        if prompt:
            self._language(call.model, language_of(prompt)).inc()
        if len(call.attempts) > 1:
            series.answers["retried"].inc()
        if call.status >= 400 and call.status != 499:
            series.answers["error"].inc()
            return
        text, flagged, tool = _answer(call)
        series.answer_chars.observe(len(text))
        if call.usage is not None:
            series.prompt_tokens.observe(call.usage.prompt_tokens)
            series.completion_tokens.observe(call.usage.completion_tokens)
        outcome = "refusal" if flagged or is_refusal(text) else "tool_call" if tool else "ok"
        series.answers[outcome].inc()

    async def tick(self, now: float) -> None:
        return None

    async def close(self) -> None:
        return None

    def _of(self, model: str, deployment: str, arm: str) -> _Series:
        key = (model, deployment, arm)
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= _MAX_SERIES:
                self._series.clear()
            series = self._series[key] = _Series(self.metrics, model, deployment, arm)
        return series

    def _language(self, model: str, language: str) -> Any:
        key = (model, language)
        child = self._languages.get(key)
        if child is None:
            if len(self._languages) >= _MAX_SERIES:
                self._languages.clear()
            child = self._languages[key] = self.metrics.languages.labels(model, language)
        return child


def _deployment(call: Call) -> str:
    """The deployment that answered, or the last one tried (a failed call has none)."""
    if call.deployment is not None:
        return call.deployment
    return call.attempts[-1].deployment if call.attempts else "-"


def _prompt_text(call: Call) -> str:
    parts: list[str] = []

    def take(text: str) -> str:
        parts.append(text)
        return text

    call.protocol.map_prompt_text(call.body, take)
    return "\n".join(parts)


def _answer(call: Call) -> tuple[str, bool, bool]:
    """The answer's text, whether the upstream flagged it as refused, whether it calls a tool."""
    answer = call.answer
    if isinstance(answer, str):  # a stream's text
        return answer, False, False
    if not answer:
        return "", False, False
    flagged = _FLAGGED.search(answer) is not None
    tool = _TOOL.search(answer) is not None
    try:
        parsed: Any = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return "", flagged, tool
    return call.protocol.answer_text(parsed), flagged, tool
