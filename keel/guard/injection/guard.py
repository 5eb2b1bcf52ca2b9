"""The prompt-injection guard: score texts, screen a chat request, decide what to do.

A text's score in [0, 1] combines two judges, both reading the text as written and its other
readings (``views``: leetspeak, ROT13, reversed, decoded base64/base32/hex/binary, tag
characters):

- the rules (``rules``): which known attack families match;
- the classifier (``model``): a logistic regression's logit over hashed n-grams.

The combination (``model.Combiner``) is a logistic regression over the classifier's logit,
one indicator per family and one per sign that the text is about injection (``about``:
quoting, code, reporting words), fitted on data the classifier did not train on: a calibrated
P(injection) in which a rule hit raises the score, and a classifier sure the text is *about*
injection (a security write-up quoting an attack) can still hold it below the threshold.

``screen`` also scores each run of consecutive screened texts joined together, so a payload
split across messages or tool results ("Ignore all previous" / "instructions and ...") is
judged whole.

``screen`` scores what reaches the model from outside the operator's control: user messages
(direct injection) and tool or function results (indirect injection: retrieved pages, emails,
API answers). System and developer messages are the operator's own; assistant turns,
including their ``tool_calls`` arguments, are the model's own output; neither is scored.
A screening names where the highest score came from and why, never the text itself.

What to do with a score is the data class's choice: ``decide`` applies its threshold and
action (``flag``: let it through and record the score; ``block``: refuse with a 400
``prompt_injection`` error naming the reasons).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from keel.errors import PromptInjection
from keel.guard.injection.about import about_cues
from keel.guard.injection.model import default_model, sigmoid
from keel.guard.injection.rules import rule_hits
from keel.guard.injection.text import collapse, fold
from keel.guard.injection.views import readings

__all__ = [
    "DEFAULT_THRESHOLD",
    "SCREENED_ROLES",
    "Action",
    "Assessment",
    "InjectionVerdict",
    "Screening",
    "assess",
    "decide",
    "score",
    "screen",
]

#: The threshold docs/guards.md's precision and recall are measured at.
DEFAULT_THRESHOLD = 0.65
#: Roles whose content comes from outside the operator and is screened.
SCREENED_ROLES = frozenset({"user", "tool", "function"})
#: The classifier is named among the reasons when it alone would call the text an injection.
CLASSIFIER_REASON = 0.5
#: ``screen`` joins each text with at most this many texts before it, into at most this many
#: characters (its last ones kept): bounded work however long the conversation.
JOINED_TEXTS = 2
JOINED_CHARS = 8192

Action = Literal["flag", "block"]


@dataclass(frozen=True, slots=True)
class Assessment:
    """One text's score and what it is made of."""

    score: float
    probability: float  # the classifier's
    rules: tuple[str, ...]  # the rule families that matched

    @property
    def reasons(self) -> tuple[str, ...]:
        classifier = ("classifier",) if self.probability >= CLASSIFIER_REASON else ()
        return self.rules + classifier


@dataclass(frozen=True, slots=True)
class Screening:
    """The highest-scoring text of a request: its score, where it was (a request path such as
    ``messages[3].content[1]``, usable as an error's ``param``), that message's role, and the
    reasons. ``source`` is None when nothing in the request was screened."""

    score: float
    source: str | None
    reasons: tuple[str, ...]
    role: str | None = None


@dataclass(frozen=True, slots=True)
class InjectionVerdict:
    """What the data class's rule makes of a screening: ``pass``, ``flag`` or ``block``."""

    outcome: Literal["pass", "flag", "block"]
    screening: Screening
    threshold: float

    @property
    def blocked(self) -> bool:
        return self.outcome == "block"

    def error(self) -> PromptInjection:
        """The client's 400 for a blocked request: the reasons and where, not the text."""
        s = self.screening
        reasons = ", ".join(s.reasons or ("classifier",))
        return PromptInjection(
            f"The request was refused as a likely prompt injection in {s.source} "
            f"(score {s.score:.2f} >= {self.threshold:.2f}; {reasons}). Remove the "
            "instructions aimed at the assistant from that content, or ask your keel admin "
            "to flag rather than block injections for this data class.",
            param=s.source,
        )


def assess(text: str) -> Assessment:
    """One text's score, the classifier's probability and the rule families found."""
    folded = fold(text)
    plain = collapse(folded)
    read = readings(text, folded, plain)
    if not plain and not read.decoded:  # nothing a model would read as an instruction
        return Assessment(0.0, 0.0, ())
    rules = rule_hits(text, folded, plain, read)
    model = default_model()
    logit = model.logit((plain or " ", *read.views))
    signs = rules + about_cues(plain, read.present)
    return Assessment(model.combiner.score(logit, signs), sigmoid(logit), rules)


def score(text: str) -> float:
    """Calibrated injection score of one text in [0, 1] (see the module's docstring)."""
    return assess(text).score


def screen(messages: Sequence[Any]) -> Screening:
    """Score every user message and tool/function result of an OpenAI ``messages`` list (text
    content or text parts), and each run of consecutive ones joined, and return the highest;
    the first wins a tie. A joined run is named by its last text, with the reason ``split``."""
    best = Screening(0.0, None, ())
    run: list[str] = []
    last = -1
    for index, source, role, text in _screened_texts(messages):
        found = assess(text)
        if best.source is None or found.score > best.score:
            best = Screening(found.score, source, found.reasons, role)
        run = [*run[-JOINED_TEXTS:], text] if index <= last + 1 else [text]
        last = index
        if len(run) > 1:
            joined = assess("\n".join(run)[-JOINED_CHARS:])
            if joined.score > best.score:
                best = Screening(joined.score, source, (*joined.reasons, "split"), role)
    return best


def decide(screening: Screening, threshold: float, action: Action) -> InjectionVerdict:
    """A data class's rule applied: at or above ``threshold``, ``action``; below, ``pass``."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be within [0, 1], not {threshold}")
    if action not in ("flag", "block"):
        raise ValueError(f"action must be 'flag' or 'block', not {action!r}")
    hit = screening.source is not None and screening.score >= threshold
    return InjectionVerdict(action if hit else "pass", screening, threshold)


def _screened_texts(messages: Sequence[Any]) -> Iterator[tuple[int, str, str, str]]:
    """(message index, source, role, text) of every screened text, in order."""
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            continue
        role = message.get("role")
        if role in SCREENED_ROLES:
            for source, text in _content_texts(message.get("content"), f"messages[{i}].content"):
                yield i, source, str(role), text


def _content_texts(content: Any, path: str) -> Iterator[tuple[str, str]]:
    """The texts of a content value: a string, or a list of parts of which ``text`` parts
    (and Anthropic-style ``tool_result`` parts, recursively) carry text; images do not."""
    if isinstance(content, str):
        if content:
            yield path, content
        return
    if not isinstance(content, list):
        return
    for j, part in enumerate(content):
        if isinstance(part, str):
            yield from _content_texts(part, f"{path}[{j}]")
        elif isinstance(part, Mapping):
            kind = part.get("type")
            if kind in ("text", "input_text"):
                yield from _content_texts(part.get("text"), f"{path}[{j}]")
            elif kind == "tool_result":
                yield from _content_texts(part.get("content"), f"{path}[{j}].content")
