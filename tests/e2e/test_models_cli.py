"""``keel models`` as a user runs it (``python -m keel``): register an ONNX model and an
MLflow directory, alias, show by alias, lineage, and a pickle refused."""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml

from tests.e2e.procs import keel_cli
from tests.registry.conftest import fitted, models_dir

__all__ = ["fitted", "models_dir"]  # the registry's model fixtures


def test_register_alias_show_and_lineage(tmp_path: Path, models_dir: Path) -> None:
    config = tmp_path / "keel.yaml"
    config.write_text(yaml.safe_dump({"store": {"url": f"sqlite:///{tmp_path}/k.db"}}))
    c = ("--config", str(config))
    out = keel_cli("models", "register", "fraud", str(models_dir / "model.onnx"), *c).stdout
    assert out.startswith("fraud:1 registered (onnx, ")
    keel_cli("models", "register", "fraud", str(models_dir / "mlflow-skops"), *c)
    keel_cli("models", "alias", "fraud", "champion", "2", "--why", "skops export", *c)
    record = orjson.loads(keel_cli("models", "show", "fraud@champion", *c).stdout)
    assert (record["version"], record["format"], record["aliases"]) == (
        2,
        "mlflow+skops",
        ["champion"],
    )
    assert (tmp_path / "artifacts" / record["sha256"][:2] / record["sha256"] / "MLmodel").is_file()
    assert "champion new -> 2" in keel_cli("models", "lineage", "fraud", *c).stdout
    refused = keel_cli(
        "models", "register", "fraud", str(models_dir / "model.pkl"), *c, check=False
    )
    assert refused.returncode == 2 and "loading a pickle runs whatever code" in refused.stderr
