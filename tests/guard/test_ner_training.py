"""Training the tagger: the same examples give the same file, byte for byte, and a model
that tags what it was trained on."""

from __future__ import annotations

from pathlib import Path

from keel.guard.ner import Tagger
from keel.guard.ner.loader import dump, read
from keel.guard.ner.training import _best_cut, bio, calibrate, train

TINY = [
    ("Please call Anna Berg today.", [(12, 21, "PERSON")]),
    ("Please call Jonas Lind today.", [(12, 22, "PERSON")]),
    ("We wrote to Maria Holm yesterday.", [(12, 22, "PERSON")]),
    ("Ship it to Storgatan 5, Lund.", [(11, 28, "ADDRESS")]),
    ("The Volvo X20 ships today.", []),
    ("Please call Acme Tools AB today.", [(12, 25, "ORG")]),
]
FIRST, LAST = ["anna", "jonas", "maria"], ["berg", "lind", "holm"]


def test_training_twice_writes_the_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bin.gz", tmp_path / "b.bin.gz"
    dump(train(TINY, FIRST, LAST, epochs=4, hide=0.0), a)
    dump(train(TINY, FIRST, LAST, epochs=4, hide=0.0), b)
    assert a.read_bytes() == b.read_bytes()


def test_a_tiny_model_tags_what_it_learnt(tmp_path: Path) -> None:
    path = tmp_path / "m.bin.gz"
    dump(train(TINY, FIRST, LAST, epochs=8, hide=0.0), path)
    tagger = Tagger(read(path))
    text = "Please call Anna Berg today."
    assert [(e.kind.value, text[e.start : e.end]) for e in tagger(text)] == [
        ("PERSON", "Anna Berg")
    ]
    assert tagger("The Volvo X20 ships today.") == []


def test_the_file_keeps_the_name_lists_and_features(tmp_path: Path) -> None:
    weights = train(TINY, FIRST, LAST, epochs=2, hide=0.0)
    path = tmp_path / "m.bin.gz"
    dump(weights, path)
    back = read(path)
    assert (back.first, back.last, back.features) == (FIRST, LAST, weights.features)
    assert abs(back.emit - weights.emit).max() < 1e-3 * abs(weights.emit).max()


def test_gold_tags_are_bio_over_tokens() -> None:
    tags, lost = bio("Call Anna Berg now", [(5, 14, "PERSON")])
    assert (tags, lost) == ([0, 1, 2, 0], [])


def test_margins_travel_in_the_file_and_are_calibrated_on_held_out_sentences(
    tmp_path: Path,
) -> None:
    weights = train(TINY, FIRST, LAST, epochs=8, hide=0.0)
    held_out = [("Please call Maria Lind today.", [(12, 22, "PERSON")])]
    margins = calibrate(Tagger(weights), held_out)
    assert set(margins) <= {"PERSON", "ADDRESS", "ORG"}
    weights.margins.update({"PERSON": 1.5, "ORG": 0.25})
    path = tmp_path / "m.bin.gz"
    dump(weights, path)
    assert read(path).margins == {"ORG": 0.25, "PERSON": 1.5}


def test_the_cut_keeps_what_is_right_and_drops_what_is_not() -> None:
    ranked = [(0.5, False), (1.0, False), (3.0, True), (4.0, True)]
    assert _best_cut(ranked, gold=2, beta=1.0) == 2.0
    assert _best_cut([(2.0, True)], gold=1, beta=1.0) == 0.0
