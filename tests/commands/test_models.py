"""``keel models`` against a real SQLite store: versions, aliases with who and why, lineage,
archive, show by alias, and refusals."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from keel.cli import app
from keel.registry.artifacts import ArtifactStore


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("USER", "ana")
    monkeypatch.chdir(tmp_path)  # not a git repository: no code version
    path = tmp_path / "keel.yaml"
    path.write_text(yaml.safe_dump({"store": {"url": f"sqlite:///{tmp_path}/k.db"}}))
    return path


def keel(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["models", *args, "--config", str(config)])
    return result.exit_code, result.stdout, result.stderr


def shown(config: Path, ref: str) -> dict[str, Any]:
    code, out, err = keel(config, "show", ref)
    assert code == 0, err
    record: dict[str, Any] = orjson.loads(out)
    return record


def test_register_twice_alias_lineage_archive(config: Path, models_dir: Path) -> None:
    (config.parent / "m.json").write_text('{"auc": 0.99}')
    code, out, err = keel(
        config,
        "register",
        "fraud",
        str(models_dir / "model.onnx"),
        "--metrics",
        str(config.parent / "m.json"),
        "--train-data",
        str(models_dir / "train.csv"),
        "--tag",
        "team=risk",
        "--description",
        "first",
    )
    assert code == 0, err
    assert out.startswith("fraud:1 registered (onnx, ")
    code, out, err = keel(config, "register", "fraud", str(models_dir / "model.skops"))
    assert code == 0 and out.startswith("fraud:2 registered (skops, "), err

    first = shown(config, "fraud:1")
    assert first["metrics"] == {"auc": 0.99} and first["tags"] == {"team": "risk"}
    assert first["creator"] == "ana" and first["code_version"] is None
    assert first["training"]["rows"] == 569 and first["description"] == "first"
    assert first["signature"]["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 30]}]
    assert ArtifactStore(config.parent / "artifacts").verify(first["sha256"]).is_file()
    assert shown(config, "fraud")["version"] == 2  # the latest live version

    assert keel(config, "alias", "fraud", "champion", "1", "--why", "first release")[1] == (
        "fraud@champion -> 1 (new)\n"
    )
    assert keel(config, "alias", "fraud", "champion", "2", "--why", "better auc")[1] == (
        "fraud@champion -> 2 (was 1)\n"
    )
    assert keel(config, "alias", "fraud", "challenger", "1")[0] == 0
    champion = shown(config, "fraud@champion")
    assert (champion["version"], champion["aliases"]) == (2, ["champion"])

    code, out, _ = keel(config, "lineage", "fraud")
    assert code == 0
    assert "champion 1 -> 2 by ana: better auc" in out
    assert "champion new -> 1 by ana: first release" in out
    assert "challenger new -> 1 by ana" in out
    line_1 = next(line for line in out.splitlines() if line.startswith("1 "))
    assert "challenger" in line_1 and "live" in line_1

    code, _, err = keel(config, "archive", "fraud", "1")
    assert code == 2 and "named by challenger: move it to another version first" in err
    keel(config, "alias", "fraud", "challenger", "2")
    assert keel(config, "archive", "fraud", "1")[1] == "fraud:1 archived\n"
    assert shown(config, "fraud:1")["archived_at"] is not None
    code, _, err = keel(config, "alias", "fraud", "champion", "1")
    assert code == 2 and "fraud:1 is archived" in err

    code, out, _ = keel(config, "list")
    assert "fraud" in out and "1 live / 2" in out and "challenger=2, champion=2" in out


def test_refusals_name_what_to_do(config: Path, models_dir: Path) -> None:
    code, _, err = keel(config, "register", "fraud", str(models_dir / "model.pkl"))
    assert code == 2 and "loading a pickle runs whatever code" in err
    assert not (config.parent / "artifacts").exists()  # a refused artifact is not stored
    assert keel(config, "register", "fraud", str(models_dir / "model.pkl"), "--trusted")[0] == 0
    code, _, err = keel(config, "register", "bad@name", str(models_dir / "model.onnx"))
    assert code == 2 and "model name 'bad@name'" in err
    for ref, message in (
        ("fraud@nope", "no alias 'nope'"),
        ("fraud:7", "no version 7"),
        ("ghost", "no live version"),
    ):
        code, _, err = keel(config, "show", ref)
        assert code == 2 and message in err, err
    code, _, err = keel(config, "alias", "fraud", "3", "1")
    assert code == 2 and "all digits" in err
    code, _, err = keel(config, "register", "fraud", str(models_dir / "model.onnx"), "--tag", "x")
    assert code == 2 and "give k=v" in err


def test_an_mlflow_directory_registers_whole(config: Path, models_dir: Path) -> None:
    code, out, err = keel(config, "register", "churn", str(models_dir / "mlflow-onnx"))
    assert code == 0 and "mlflow+onnx" in out, err
    sha = shown(config, "churn:1")["sha256"]
    stored = ArtifactStore(config.parent / "artifacts").verify(sha)
    assert sorted(p.name for p in stored.iterdir()) == ["MLmodel", "model.onnx"]
    shutil.rmtree(stored)
    assert keel(config, "register", "churn", str(models_dir / "mlflow-onnx"))[0] == 0
