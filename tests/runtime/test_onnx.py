from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.linear_model import LogisticRegression

from keel.errors import BadRequest
from keel.runtime import Session, Signature, TensorSpec
from keel.runtime.onnx import OnnxSession


@pytest.fixture(scope="module")
def session(onnx_path: Path) -> Iterator[OnnxSession]:
    loaded = OnnxSession(onnx_path, max_batch_size=64)
    yield loaded
    loaded.close()


def test_the_signature_is_read_from_the_model(session: OnnxSession) -> None:
    assert session.signature == Signature(
        inputs=(TensorSpec("X", "FP32", (-1, 30)),),
        outputs=(TensorSpec("label", "INT64", (-1,)), TensorSpec("probabilities", "FP32", (-1, 2))),
    )


def test_loaded_warm_with_its_memory_measured(session: OnnxSession) -> None:
    assert session.warmed_up
    assert session.memory_bytes is not None and session.memory_bytes >= 0
    assert isinstance(session, Session)


def test_labels_equal_sklearn(
    session: OnnxSession, classifier: LogisticRegression, features: npt.NDArray[Any]
) -> None:
    rows = features[:64].astype(np.float32)
    session.check({"X": rows})
    got = session.run({"X": rows})
    np.testing.assert_array_equal(got["label"], classifier.predict(features[:64]))
    np.testing.assert_allclose(
        got["probabilities"], classifier.predict_proba(features[:64]), atol=1e-4
    )


def test_only_the_requested_outputs_are_run(
    session: OnnxSession, features: npt.NDArray[Any]
) -> None:
    got = session.run({"X": features[:2].astype(np.float32)}, ["probabilities"])
    assert list(got) == ["probabilities"]
    with pytest.raises(BadRequest, match="output 'scores' is not an output of this model"):
        session.run({"X": features[:2].astype(np.float32)}, ["scores"])


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"x": np.zeros((1, 30), np.float32)}, "input 'x' is not an input of this model; "
         "its inputs are 'X' (FP32 [-1, 30])"),
        ({}, "input 'X' (FP32 [-1, 30]) is missing"),
        ({"X": np.zeros((1, 30))}, "input 'X': expected datatype FP32, got FP64"),
        ({"X": np.zeros((1, 29), np.float32)}, "input 'X': expected shape [-1, 30] (-1: any "
         "size), got [1, 29]"),
        ({"X": np.zeros(30, np.float32)}, "expected shape [-1, 30]"),
        ({"X": np.zeros((65, 30), np.float32)}, "input 'X': a batch of 65 is over this model's "
         "max_batch_size of 64"),
    ],
    ids=["name", "missing", "datatype", "shape", "rank", "batch"],
)  # fmt: skip
def test_inputs_that_do_not_fit_are_named(
    session: OnnxSession, inputs: dict[str, npt.NDArray[Any]], message: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        session.check(inputs)
    assert message in caught.value.message


async def test_run_async_matches_run(session: OnnxSession, features: npt.NDArray[Any]) -> None:
    rows = features[100:140].astype(np.float32)
    want = session.run({"X": rows})
    got = await session.run_async({"X": rows})
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])


@pytest.mark.parametrize("inline_below_s", [0.0, 10.0])
async def test_a_calibrated_session_answers_alike_inline_or_on_its_thread(
    onnx_path: Path, features: npt.NDArray[Any], inline_below_s: float
) -> None:
    calibrated = OnnxSession(onnx_path)
    try:
        run_s = calibrated.calibrate(32, inline_below_s)
        assert run_s > 0 and calibrated.idle_run_s == run_s
        assert calibrated.inline is (inline_below_s > 0)
        rows = features[:32].astype(np.float32)
        want = calibrated.run({"X": rows})
        got, took = await calibrated.run_timed({"X": rows})
        assert took >= 0
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])
            np.testing.assert_array_equal(
                (await calibrated.run_async({"X": rows}))[name], want[name]
            )
    finally:
        calibrated.close()


def test_non_tensor_outputs_are_left_out(zipmap_path: Path, features: npt.NDArray[Any]) -> None:
    session = OnnxSession(zipmap_path, intra_op_threads=2)
    try:
        assert session.signature.output_names() == ["output_label"]
        assert session.max_batch_size is None
        assert session.run({"X": features[:3].astype(np.float32)})["output_label"].shape == (3,)
    finally:
        session.close()
