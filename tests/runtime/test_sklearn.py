from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from keel.errors import BadRequest
from keel.runtime import Session, Signature, TensorSpec
from keel.runtime.sklearn import SklearnSession


@pytest.fixture(scope="module")
def session(classifier: LogisticRegression) -> Iterator[SklearnSession]:
    loaded = SklearnSession(classifier, max_batch_size=8)
    yield loaded
    loaded.close()


def test_the_signature_of_a_classifier(session: SklearnSession) -> None:
    assert session.signature == Signature(
        inputs=(TensorSpec("input", "FP64", (-1, 30)),),
        outputs=(TensorSpec("label", "INT64", (-1,)), TensorSpec("probabilities", "FP64", (-1, 2))),
    )
    assert session.warmed_up and isinstance(session, Session)
    assert session.memory_bytes is not None and session.memory_bytes > 0


def test_runs_are_the_estimator_s_own(
    session: SklearnSession, classifier: LogisticRegression, features: npt.NDArray[Any]
) -> None:
    got = session.run({"input": features[:8]})
    np.testing.assert_array_equal(got["label"], classifier.predict(features[:8]))
    np.testing.assert_array_equal(got["probabilities"], classifier.predict_proba(features[:8]))
    assert list(session.run({"input": features[:1]}, ["label"])) == ["label"]


def test_check_names_the_input(session: SklearnSession) -> None:
    with pytest.raises(BadRequest, match="input 'input': a batch of 9 is over"):
        session.check({"input": np.zeros((9, 30))})
    with pytest.raises(BadRequest, match="input 'input': expected datatype FP64, got FP32"):
        session.check({"input": np.zeros((1, 30), np.float32)})


async def test_run_async_matches_run(session: SklearnSession, features: npt.NDArray[Any]) -> None:
    want = session.run({"input": features[:5]})
    got = await session.run_async({"input": features[:5]})
    np.testing.assert_array_equal(got["label"], want["label"])


def test_string_labels_and_a_regressor() -> None:
    rows = np.array([[0.0], [1.0], [2.0], [3.0]])
    named = SklearnSession(LogisticRegression().fit(rows, ["no", "no", "yes", "yes"]))
    regressor = SklearnSession(LinearRegression().fit(rows, [0.0, 2.0, 4.0, 6.0]))
    try:
        assert named.signature.outputs[0] == TensorSpec("label", "BYTES", (-1,))
        assert named.run({"input": rows[-1:]})["label"].tolist() == ["yes"]
        assert regressor.signature.outputs == (TensorSpec("label", "FP64", (-1,)),)
        np.testing.assert_allclose(regressor.run({"input": rows[:1]})["label"], [0.0], atol=1e-9)
    finally:
        named.close()
        regressor.close()


def test_an_unfitted_estimator_is_refused() -> None:
    with pytest.raises(ValueError, match="has no n_features_in_"):
        SklearnSession(LogisticRegression())
