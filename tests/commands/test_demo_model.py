"""The demo's predictive model against a real SQLite store: made once, completed when a start
stopped half way, and the banner's row a real one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from keel.commands.demo_model import ensure_demo_model
from keel.commands.models import list_models, register
from keel.config.schema import KeelConfig
from keel.registry.demo import DEMO_MODEL, DEMO_ROW, build
from keel.runtime.onnx import OnnxSession


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeelConfig:
    monkeypatch.setenv("USER", "ana")
    monkeypatch.chdir(tmp_path)  # not a git repository
    return KeelConfig.model_validate({"store": {"url": f"sqlite:///{tmp_path}/k.db"}})


async def versions_and_aliases(config: KeelConfig) -> tuple[list[int], dict[str, int]]:
    versions, aliases = await list_models(config)
    return [v.version for v in versions], {a.alias: a.version for a in aliases}


async def test_made_once(config: KeelConfig) -> None:
    done = await ensure_demo_model(config)
    assert done.startswith(f"{DEMO_MODEL} trained, registered and named champion (version 1)")
    assert await ensure_demo_model(config) == f"{DEMO_MODEL} is registered (version 1, champion)"
    assert await versions_and_aliases(config) == ([1], {"champion": 1})


async def test_a_version_without_its_alias_is_named_not_made_again(
    config: KeelConfig, tmp_path: Path
) -> None:
    files = build(tmp_path)
    await register(config, DEMO_MODEL, files.model)  # a first start stopped here
    done = await ensure_demo_model(config)
    assert done.startswith(f"{DEMO_MODEL} named champion (version 1)")
    assert await versions_and_aliases(config) == ([1], {"champion": 1})


def test_the_banner_row_is_the_datasets_first(tmp_path: Path) -> None:
    data = load_breast_cancer()
    assert tuple(data.data[0].tolist()) == DEMO_ROW
    session = OnnxSession(build(tmp_path).model)
    try:
        outputs = session.run({"X": np.array([DEMO_ROW], np.float32)}, ["label"])
    finally:
        session.close()
    assert outputs["label"].tolist() == [int(data.target[0])]
