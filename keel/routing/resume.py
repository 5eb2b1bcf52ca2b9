"""Resuming a stream that broke mid-answer, on another deployment of the model.

The client already holds part of the answer. A fallback that continues a partial assistant
message (``prefill: true``) gets the request with that part as the last message, and its
continuation is forwarded as it comes. Any other fallback re-runs the request: its answer is
forwarded only past the part already sent, and only if it starts with exactly that part, so an
answer that went another way is never spliced onto the first one.
"""

from __future__ import annotations

from typing import Any

from keel.answer import Event, starts_answer
from keel.call import Call
from keel.config.schema import DeploymentConfig
from keel.errors import StreamDiverged

__all__ = ["Splice", "continuation", "resumable"]


def resumable(call: Call) -> bool:
    """One text answer (not several choices) of chat chunks is what a splice can continue;
    the call's protocol says (a Messages stream, native or translated, is not resumed)."""
    return call.protocol.chat_chunks and call.protocol.resumable(call.endpoint, call.body)


def continuation(
    call: Call, deployment: DeploymentConfig, body: dict[str, Any], delivered: str
) -> tuple[dict[str, Any], Splice]:
    """The request to send to ``deployment`` and how to forward its answer."""
    if deployment.prefill:
        if call.endpoint == "chat":
            messages = [*call.body["messages"], {"role": "assistant", "content": delivered}]
            return {**body, **deployment.prefill_body, "messages": messages}, Splice("")
        prompt = call.body.get("prompt")
        if isinstance(prompt, str):
            return {**body, **deployment.prefill_body, "prompt": prompt + delivered}, Splice("")
    return body, Splice(delivered)


class Splice:
    """Forwards a resumed stream's events from where the client's copy ends.

    With a prefix (a re-run) the events that repeat it are dropped, and the one that crosses
    its end is cut there; an answer that differs from it raises ``StreamDiverged``. Chunks that
    carry no answer (a second role chunk) are dropped; usage chunks pass.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.matched = 0
        self.kind = "rerun" if prefix else "prefill"

    def feed(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            data = event.data
            if data is None or not data.get("choices"):
                out.append(event)  # not JSON: the meter skips and counts it
            elif self.matched >= len(self.prefix):
                if starts_answer(data):
                    out.append(event)
            elif self._past_prefix(data):
                event.changed()
                out.append(event)
        return out

    def _past_prefix(self, event: dict[str, Any]) -> bool:
        """Match one event against the prefix; cut it to what lies beyond, if anything does
        (False: it lies wholly within the prefix)."""
        choice = event["choices"][0]
        part, key = _text_field(choice)
        text = part.get(key) if part is not None else None
        text = text if isinstance(text, str) else ""
        need = self.prefix[self.matched :]
        if need.startswith(text):
            self.matched += len(text)
            if not choice.get("finish_reason"):
                return False
            if self.matched < len(self.prefix):
                raise StreamDiverged("the fallback's answer ended before the point of the break")
            text = need  # it ends exactly where the first one broke: forward just the finish
        elif not text.startswith(need):
            raise StreamDiverged(
                "the fallback's answer differs from the part already sent, so it cannot continue it"
            )
        self.matched = len(self.prefix)
        if part is not None:
            part[key] = text[len(need) :]
        return True


def _text_field(choice: Any) -> tuple[dict[str, Any] | None, str]:
    if not isinstance(choice, dict):
        return None, "content"
    delta = choice.get("delta")
    if isinstance(delta, dict):
        return delta, "content"
    return choice, "text"
