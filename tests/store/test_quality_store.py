"""The quality family on SQLite and PostgreSQL: the prediction log, labels (the latest per row
counts), their join, who made a call, feedback joined to its deployment, and pruning."""

from __future__ import annotations

import time

from keel.store.base import Store
from keel.store.feedback import FeedbackRecord
from keel.store.quality import LabelRecord, PredictionRow, check_label, label_text
from tests.store.conftest import make_row

NOW = time.time()


def prediction(rid: str, row: int, label: str, version: int = 1, **kw: object) -> PredictionRow:
    fields: dict[str, object] = {
        "request_id": rid, "kind": "call", "model": "clf", "version": version, "ts": NOW,
        "row": row, "label": label, "score": 0.9, "probabilities": (0.1, 0.9),
    }  # fmt: skip
    fields.update(kw)
    return PredictionRow(**fields)  # type: ignore[arg-type]


def label(rid: str, row: int, value: str, ts: float = NOW, model: str = "clf") -> LabelRecord:
    return LabelRecord(ts, rid, row, value, model, "t", "key", "api")


async def test_labels_join_their_rows_and_the_latest_label_counts(store: Store) -> None:
    await store.add_predictions([
        prediction("r1", 0, "1"), prediction("r1", 1, "0"), prediction("r2", 0, "1", version=2),
        prediction("r3", 0, "1"),  # never labelled
        prediction("r1", 0, "0", kind="shadow", version=3),
    ])  # fmt: skip
    assert await store.add_labels([label("r1", 0, "0"), label("r1", 1, "0")]) == 2
    await store.add_labels([label("r1", 0, "1", ts=NOW + 1), label("r2", 0, "0")])
    rows = await store.labelled("clf", NOW - 60)
    got = sorted((r.version, r.kind, r.predicted, r.label, r.source) for r in rows)
    assert got == [
        (1, "call", "0", "0", "api"),
        (1, "call", "1", "1", "api"),  # relabelled: the latest label
        (2, "call", "1", "0", "api"),
        (3, "shadow", "0", "1", "api"),  # the shadow copy of r1 row 0 joins the same label
    ]
    assert all(r.probabilities == (0.1, 0.9) for r in rows)


async def test_the_join_keeps_to_the_model_and_the_time(store: Store) -> None:
    await store.add_predictions([prediction("r1", 0, "1"), prediction("old", 0, "1", ts=NOW - 900)])
    await store.add_labels([label("r1", 0, "1", model="other"), label("old", 0, "1")])
    assert await store.labelled("clf", NOW - 60) == []
    assert len(await store.labelled("clf", NOW - 3600)) == 1
    assert await store.labelled("other", NOW - 3600) == []  # no prediction of that model


async def test_call_owners_names_calls_not_shadows(store: Store) -> None:
    await store.write([
        make_row(request_id="a", team="t", model="clf@challenger"),
        make_row(request_id="a", team="t", model="clf", kind="shadow"),
        make_row(request_id="b", team="u", model="clf"),
    ])  # fmt: skip
    owners = await store.call_owners(["a", "b", "nobody"])
    assert {k: (o.team, o.model) for k, o in owners.items()} == {
        "a": ("t", "clf@challenger"),
        "b": ("u", "clf"),
    }


async def test_feedback_joins_the_deployment_of_its_call(store: Store) -> None:
    await store.write([
        make_row(request_id="a", model="chat", deployment="d1"),
        make_row(request_id="b", model="chat", deployment="d2"),
        make_row(request_id="c", model="other", deployment="d1"),
    ])  # fmt: skip
    for rid, outcome in (("a", "bad"), ("a", "5"), ("b", "3"), ("c", "1")):
        await store.add_feedback(FeedbackRecord(time.time(), rid, outcome, "t", None, "k"))
    joined = await store.feedback_joined("chat", NOW - 60)
    assert sorted((f.deployment, f.outcome) for f in joined) == [("d1", "5"), ("d2", "3")]


async def test_old_predictions_are_deleted(store: Store) -> None:
    await store.add_predictions([prediction("new", 0, "1"), prediction("old", 0, "1", ts=NOW - 99)])
    assert await store.delete_predictions(NOW - 50) == 1
    await store.add_labels([label("new", 0, "1"), label("old", 0, "1")])
    assert [r.label for r in await store.labelled("clf", 0)] == ["1"]


async def test_a_score_only_row_keeps_no_probabilities(store: Store) -> None:
    await store.add_predictions([prediction("s", 0, None, score=0.25, probabilities=None)])  # type: ignore[arg-type]
    await store.add_labels([label("s", 0, "1")])
    (row,) = await store.labelled("clf", 0)
    assert row.predicted is None and row.probabilities is None


def test_labels_meet_as_text() -> None:
    import numpy as np

    assert label_text(np.int64(1)) == label_text(1) == label_text(1.0) == label_text("1") == "1"
    assert label_text(True) == "true" and label_text(b"x") == "x" and label_text(2.5) == "2.5"
    assert label_text(float("nan")) is None and label_text([1]) is None
    assert check_label(" r ", 1, "2") == ("r", "1", 2)
    for bad in (("", 1, 0), ("r", None, 0), ("r", [1], 0), ("r", 1, -1), ("r", 1, True),
                ("r", "a\x00", 0), ("x" * 129, 1, 0), ("r", "x" * 257, 0)):  # fmt: skip
        try:
            check_label(*bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


async def test_a_limit_keeps_the_newest_rows_oldest_first(store: Store) -> None:
    await store.add_predictions([prediction(f"r{i}", 0, "1", ts=NOW - 10 + i) for i in range(5)])
    await store.add_labels([label(f"r{i}", 0, "1") for i in range(5)])
    rows = await store.labelled("clf", 0, limit=3)
    assert [r.ts for r in rows] == [NOW - 8, NOW - 7, NOW - 6]
