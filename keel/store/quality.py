"""The quality family: what predictive models answered (the prediction log), the labels
callers sent later, and the two joined (keel.monitor.quality reads it).

A prediction row is one row of one call's batch: its predicted label and, for a classifier,
its class probabilities; never its inputs. A label names a call by its request id and a row of
its batch; a row labelled twice counts its latest label. Labels and predictions are joined when
read, so a label may arrive before the prediction log has written its call (the log writes in
batches, off the hot path)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "CallOwner",
    "FeedbackJoined",
    "LabelRecord",
    "Labelled",
    "PredictionRow",
    "QualityStore",
    "check_label",
    "label_text",
]

MAX_ROW = 2**31 - 1


@dataclass(frozen=True, slots=True)
class PredictionRow:
    """One row of a predictive call's answer, as the prediction log keeps it."""

    request_id: str
    kind: str  # call | shadow (the same request's copy, answered by the shadow version)
    model: str  # the registered name
    version: int
    ts: float  # when the call started
    row: int  # the row's index in the call's batch
    label: str | None  # the predicted label as text (ints as digits), None for a pure score
    score: float | None  # the top class probability, or a regression's or scorer's value
    probabilities: tuple[float, ...] | None  # a classifier's, in its classes' order


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """The true label of one row of a call, sent after the call (POST /v2/models/{m}/feedback
    or ``keel models labels``)."""

    ts: float
    request_id: str
    row: int
    label: str
    model: str
    team: str | None
    key_id: str | None
    source: str  # api | csv
    seq: int = 0  # set by the store


@dataclass(frozen=True, slots=True)
class Labelled:
    """A logged prediction row and its latest label."""

    version: int
    kind: str
    ts: float  # the prediction's
    predicted: str | None
    probabilities: tuple[float, ...] | None
    label: str
    labelled_at: float
    source: str = "api"  # the label's: api | csv


@dataclass(frozen=True, slots=True)
class FeedbackJoined:
    """A feedback outcome (POST /v1/feedback) and the deployment that answered its call."""

    deployment: str | None
    ts: float  # the call's
    outcome: str


@dataclass(frozen=True, slots=True)
class CallOwner:
    team: str | None
    model: str | None  # as the client named it: ``fraud``, ``fraud@challenger``


class QualityStore(Protocol):
    @abstractmethod
    async def add_predictions(self, rows: Sequence[PredictionRow]) -> None:
        """Write prediction rows in one transaction."""

    @abstractmethod
    async def add_labels(self, records: Sequence[LabelRecord]) -> int:
        """Write labels in one transaction; how many."""

    @abstractmethod
    async def call_owners(self, request_ids: Sequence[str]) -> dict[str, CallOwner]:
        """Who made each call (kind ``call``) of these request ids, and to which model; an id
        of no call is not in the answer."""

    @abstractmethod
    async def labelled(self, model: str, since: float, limit: int = 200_000) -> list[Labelled]:
        """The model's logged prediction rows since ``since`` that have a label: the newest
        ``limit`` of them, oldest first."""

    @abstractmethod
    async def feedback_joined(
        self, model: str, since: float, limit: int = 200_000
    ) -> list[FeedbackJoined]:
        """The latest feedback on each call to a (logical) model made since ``since``: the
        newest ``limit`` calls, oldest first."""

    @abstractmethod
    async def delete_predictions(self, before: float) -> int:
        """Delete prediction rows of calls started before ``before``; how many."""


def label_text(value: Any) -> str | None:
    """A label as the store keeps it, so that a model's ``1`` (int64), a caller's ``1`` (JSON)
    and a CSV's ``1`` meet: booleans as true/false, whole numbers as digits, other numbers as
    Python writes them, bytes decoded, text as it is; None for anything else."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    item = getattr(value, "item", None)  # a numpy scalar
    return label_text(item()) if callable(item) else None


def check_label(request_id: Any, label: Any, row: Any) -> tuple[str, str, int]:
    """(request id, label as text, row) if the store can keep them, else ValueError saying
    which is wrong and what to send."""
    if not isinstance(request_id, str) or not request_id.strip() or len(request_id) > 128:
        raise ValueError("request_id must be the answer's x-request-id (1 to 128 characters)")
    text = label_text(label) if not isinstance(label, list | dict) else None
    if text is None or not text or len(text) > 256:
        raise ValueError("label must be a string, number or boolean (at most 256 characters)")
    if "\x00" in request_id or "\x00" in text:
        raise ValueError("request_id and label may not contain a NUL character (\\u0000)")
    if isinstance(row, str) and row.strip().isdigit():
        row = int(row)
    if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row <= MAX_ROW:
        raise ValueError("row must be the row's index in the call's batch: 0, 1, 2 ...")
    return request_id.strip(), text, row
