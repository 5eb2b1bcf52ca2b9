"""Quality metrics on known confusion matrices, calibration on hand-computed rows, and the
two-proportion test against scipy-free closed forms."""

from __future__ import annotations

import math

import pytest

from keel.monitor.quality_metrics import calibration, classify, proportions_test, score


def pairs(matrix: dict[tuple[str, str], int]) -> list[tuple[str | None, str]]:
    """(predicted, true) pairs from a confusion matrix keyed (predicted, true)."""
    return [(p, t) for (p, t), n in matrix.items() for _ in range(n)]


def test_a_binary_confusion_matrix() -> None:
    # TP 40 (1,1), FP 10 (1,0), FN 5 (0,1), TN 45 (0,0)
    s = classify(pairs({("1", "1"): 40, ("1", "0"): 10, ("0", "1"): 5, ("0", "0"): 45}))
    assert (s.labelled, s.correct) == (100, 85)
    assert s.accuracy == pytest.approx(0.85)
    assert s.classes["1"].precision == pytest.approx(40 / 50)
    assert s.classes["1"].recall == pytest.approx(40 / 45)
    assert s.classes["0"].precision == pytest.approx(45 / 50)
    assert s.classes["0"].recall == pytest.approx(45 / 55)
    assert s.macro_precision == pytest.approx((0.8 + 0.9) / 2)
    assert s.macro_recall == pytest.approx((40 / 45 + 45 / 55) / 2)
    assert (s.classes["1"].support, s.classes["0"].support) == (45, 55)


def test_a_three_class_matrix_with_a_class_never_predicted() -> None:
    s = classify(pairs({("a", "a"): 3, ("b", "b"): 2, ("a", "c"): 1, ("b", "c"): 1}))
    assert s.accuracy == pytest.approx(5 / 7)
    assert s.classes["c"].precision == 0.0 and s.classes["c"].recall == 0.0
    assert s.classes["a"].precision == pytest.approx(3 / 4)
    assert s.macro_recall == pytest.approx((1 + 1 + 0) / 3)


def test_no_labels_no_scores() -> None:
    s = score([])
    assert s.accuracy is None and s.ece is None and s.brier is None and s.labelled == 0


def test_ece_of_rows_in_two_bins() -> None:
    rows = [
        ("1", "1", (0.05, 0.95)),  # bin 9, right
        ("1", "0", (0.05, 0.95)),  # bin 9, wrong
        ("0", "0", (0.65, 0.35)),  # bin 6, right
        ("0", "0", (0.65, 0.35)),  # bin 6, right
    ]
    ece, brier = calibration(rows, ["0", "1"])
    # bin 9: accuracy 0.5, confidence 0.95; bin 6: accuracy 1.0, confidence 0.65
    assert ece == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)
    expected = (2 * 0.05**2 + (0.95**2 + 0.95**2) + 2 * (0.35**2 + 0.35**2)) / 4
    assert brier == pytest.approx(expected)


def test_brier_needs_the_columns_named() -> None:
    rows = [("a", "a", (0.2, 0.7, 0.1))]  # one label seen, three columns: unnamed
    ece, brier = calibration(rows, ["a"])
    assert ece == pytest.approx(0.3) and brier is None


def test_numbers_sort_as_numbers_for_the_columns() -> None:
    # classes 2 and 10: sorted as numbers, 2 is column 0
    rows = [("10", "10", (0.0, 1.0)), ("2", "2", (1.0, 0.0))]
    assert calibration(rows, ["10", "2"]) == (pytest.approx(0.0), pytest.approx(0.0))


def test_a_perfectly_calibrated_confident_model() -> None:
    rows = [("1", "1", (0.0, 1.0))] * 10
    assert calibration(rows, ["1", "0"]) == (pytest.approx(0.0), pytest.approx(0.0))


def test_the_two_proportion_test() -> None:
    # 70/100 against 90/100: pooled 0.8, se sqrt(0.16 * 0.02) = 0.0566, z = -3.536
    p = proportions_test(70, 100, 90, 100)
    z = (0.7 - 0.9) / math.sqrt(0.8 * 0.2 * (2 / 100))
    assert p == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)))
    assert p == pytest.approx(0.000203, rel=0.01)
    assert proportions_test(90, 100, 70, 100) > 0.99  # better, not worse
    assert proportions_test(50, 100, 50, 100) == pytest.approx(0.5)
    assert proportions_test(10, 10, 10, 10) == 1.0 and proportions_test(0, 0, 5, 9) == 1.0
