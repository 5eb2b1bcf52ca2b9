from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from keel.errors import BadRequest, Overloaded
from keel.runtime import Signature, TensorSpec
from keel.runtime.onnx import OnnxSession
from keel.runtime.worker import SessionBase
from keel.serving.batcher import Batcher

Tensors = dict[str, npt.NDArray[Any]]


@pytest.fixture(scope="module")
def features() -> npt.NDArray[Any]:
    return np.asarray(load_breast_cancer().data, dtype=np.float32)


@pytest.fixture(scope="module")
def onnx_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnnxSession]:
    data = load_breast_cancer()
    model = LogisticRegression(max_iter=5000).fit(data.data, data.target)
    onnx_model = to_onnx(
        model,
        data.data[:1].astype(np.float32),
        options={id(model): {"zipmap": False}},
        target_opset=17,
    )
    path: Path = tmp_path_factory.mktemp("models") / "model.onnx"
    path.write_bytes(onnx_model.SerializeToString())
    session = OnnxSession(path)
    yield session


class Doubling(SessionBase):
    """y = 2x, row by row; a held session's runs wait until ``release`` is set; a run raises
    while ``failing``. Records the rows of each run."""

    def __init__(self, *, held: bool = False) -> None:
        super().__init__(name="doubling", max_batch_size=None)
        self.signature = Signature(
            (TensorSpec("x", "FP32", (-1, -1)),), (TensorSpec("y", "FP32", (-1, -1)),)
        )
        self.release = threading.Event()
        if not held:
            self.release.set()
        self.started = threading.Event()
        self.failing = False
        self.runs: list[int] = []

    def run(self, inputs: Tensors, outputs: list[str] | None = None) -> Tensors:
        self.runs.append(len(inputs["x"]))
        self.started.set()
        assert self.release.wait(10)
        if self.failing:
            raise RuntimeError("the model broke")
        return {"y": inputs["x"] * 2}


@pytest.fixture
def doubling() -> Iterator[Doubling]:
    session = Doubling()
    yield session
    session.close()


@pytest.fixture
def held() -> Iterator[Doubling]:
    """Runs wait until the test sets ``release`` (or the teardown, when the test failed)."""
    session = Doubling(held=True)
    yield session
    session.release.set()
    session.close()


def rows(start: int, count: int, width: int = 2) -> Tensors:
    return {"x": np.arange(start, start + count * width, dtype=np.float32).reshape(count, width)}


async def running(session: Doubling) -> None:
    assert await asyncio.to_thread(session.started.wait, 10)


async def test_64_concurrent_callers_get_their_own_answers_from_few_runs(
    onnx_session: OnnxSession, features: npt.NDArray[Any]
) -> None:
    sizes: list[int] = []
    batcher = Batcher(
        onnx_session, max_batch_size=16, max_wait_ms=5, on_batch=lambda n, _: sizes.append(n)
    )
    requests = []
    for i in range(64):
        count = 1 + i % 3
        outputs = ["label"] if i % 4 == 0 else None
        requests.append(({"X": features[i * 3 : i * 3 + count]}, outputs))

    answers = await asyncio.gather(*(batcher.run(x, outputs) for x, outputs in requests))

    for (inputs, outputs), answer in zip(requests, answers, strict=True):
        alone = onnx_session.run(inputs, outputs)
        assert answer.keys() == alone.keys()
        np.testing.assert_array_equal(answer["label"], alone["label"])
        if outputs is None:
            np.testing.assert_allclose(answer["probabilities"], alone["probabilities"], atol=1e-6)
    assert sum(sizes) == sum(len(x["X"]) for x, _ in requests)
    assert max(sizes) <= 16
    assert len(sizes) <= 16  # far fewer runs than callers


async def test_a_request_over_max_batch_size_runs_alone(
    onnx_session: OnnxSession, features: npt.NDArray[Any]
) -> None:
    sizes: list[int] = []
    batcher = Batcher(
        onnx_session, max_batch_size=4, max_wait_ms=5, on_batch=lambda n, _: sizes.append(n)
    )
    big, small = {"X": features[:10]}, {"X": features[10:12]}

    answer_big, answer_small = await asyncio.gather(
        batcher.run(big, None), batcher.run(small, None)
    )

    np.testing.assert_array_equal(answer_big["label"], onnx_session.run(big)["label"])
    np.testing.assert_array_equal(answer_small["label"], onnx_session.run(small)["label"])
    assert sorted(sizes) == [2, 10]


async def test_requests_of_other_shapes_run_in_another_batch(doubling: Doubling) -> None:
    session = doubling
    batcher = Batcher(session, max_batch_size=8, max_wait_ms=5)
    narrow, wide, narrow_too = rows(0, 2, width=2), rows(100, 1, width=3), rows(200, 3, width=2)

    answers = await asyncio.gather(*(batcher.run(x) for x in (narrow, wide, narrow_too)))

    for inputs, answer in zip((narrow, wide, narrow_too), answers, strict=True):
        np.testing.assert_array_equal(answer["y"], inputs["x"] * 2)
    assert sorted(session.runs) == [1, 5]


async def test_a_session_error_fails_its_whole_batch_and_the_next_batch_works(
    doubling: Doubling,
) -> None:
    session = doubling
    session.failing = True
    batcher = Batcher(session, max_batch_size=8, max_wait_ms=5)

    results = await asyncio.gather(
        *(batcher.run(rows(i * 10, 2)) for i in range(3)), return_exceptions=True
    )

    assert all(isinstance(r, RuntimeError) for r in results)
    assert results[0] is results[1] is results[2]
    assert session.runs == [6]
    session.failing = False
    answer = await batcher.run(rows(7, 1))
    np.testing.assert_array_equal(answer["y"], rows(7, 1)["x"] * 2)


async def test_cancelled_callers_leave_the_others_their_answers(held: Doubling) -> None:
    session = held
    batcher = Batcher(session, max_batch_size=4, max_wait_ms=1)
    sent = asyncio.create_task(batcher.run(rows(0, 4)))  # full: sent at once
    await running(session)
    waiting = asyncio.create_task(batcher.run(rows(100, 1)))
    kept = asyncio.create_task(batcher.run(rows(200, 1)))
    await asyncio.sleep(0)
    assert batcher.queued_rows == 2

    for task in (sent, waiting):
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    assert batcher.queued_rows == 1
    session.release.set()

    np.testing.assert_array_equal((await kept)["y"], rows(200, 1)["x"] * 2)
    assert session.runs == [4, 1]  # the cancelled waiting row was never run


async def test_a_queue_over_its_bound_refuses_at_once(held: Doubling) -> None:
    session = held
    batcher = Batcher(session, max_batch_size=4, max_wait_ms=1, max_queue_rows=8)
    tasks = [asyncio.create_task(batcher.run(rows(0, 4)))]
    await running(session)
    tasks += [asyncio.create_task(batcher.run(rows(i * 100, 4))) for i in (1, 2)]
    await asyncio.sleep(0)
    assert batcher.queued_rows == 8

    with pytest.raises(Overloaded) as refused:
        await asyncio.wait_for(batcher.run(rows(999, 1)), 5)  # at once, not queued

    assert refused.value.status == 503 and refused.value.retry_after_s >= 1
    session.release.set()
    for i, task in enumerate(tasks):
        np.testing.assert_array_equal((await task)["y"], rows(i * 100, 4)["x"] * 2)


async def test_a_request_that_cannot_meet_the_latency_bound_is_refused(held: Doubling) -> None:
    session = held
    # runs take 10 ms by the estimate: one run ahead fits a 15 ms wait, two do not
    batcher = Batcher(session, max_batch_size=4, max_wait_ms=15, run_ms=10)
    tasks = [asyncio.create_task(batcher.run(rows(0, 4)))]
    await running(session)
    tasks.append(asyncio.create_task(batcher.run(rows(100, 4))))
    await asyncio.sleep(0)
    assert batcher.queued_rows == 4

    with pytest.raises(Overloaded):
        await asyncio.wait_for(batcher.run(rows(200, 1)), 5)  # at once, not queued

    assert batcher.queued_rows == 4  # far under the queue bound of 32
    session.release.set()
    await asyncio.gather(*tasks)


async def test_inputs_of_one_request_share_their_batch_dimension(doubling: Doubling) -> None:
    session = doubling
    batcher = Batcher(session, max_batch_size=4, max_wait_ms=1)
    with pytest.raises(BadRequest, match="first"):
        await batcher.run({"x": np.zeros((2, 2)), "z": np.zeros((3, 2))})


class Timed(Doubling):
    """A session whose runs report a fixed run time, whatever the wall clock says."""

    def _timed(self, inputs: Tensors, outputs: list[str] | None) -> tuple[Tensors, float]:
        return self.run(inputs, outputs), 0.004


async def test_the_latency_bound_is_judged_on_the_models_own_run_time() -> None:
    """The hops to the worker thread and back grow with the event loop's load; counting them
    as the model's run time would refuse requests the model could answer in time."""
    session = Timed()
    try:
        batcher = Batcher(session, max_batch_size=4, max_wait_ms=1)
        await batcher.run(rows(0, 1))
        assert batcher.run_s == pytest.approx(0.004)
        await batcher.run(rows(1, 1))
        assert batcher.run_s == pytest.approx(0.004)
    finally:
        session.close()
