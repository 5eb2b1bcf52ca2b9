"""The servers of the predictive benchmark: keel, a bare onnxruntime server, MLServer.

keel runs one process with the same ONNX artifact registered under three names, each with its
own batching settings (``predictive.models.<name>``): ``clf`` (off), ``clf_b2`` and ``clf_b5``
(``max_batch_size`` 32, ``max_wait_ms`` 2 and 5). MLServer does the same with three model
directories of the same joblib file (``max_batch_size``/``max_batch_time``). The generated
configs go into the results JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import procs
import yaml

__all__ = [
    "BATCHING",
    "KEEL_KEY",
    "MLSERVER_VENV",
    "Server",
    "install_mlserver",
    "keel_server",
    "mlserver_server",
    "mlserver_version",
    "ort_server",
]

BENCH = Path(__file__).resolve().parent
MLSERVER_VENV = BENCH / ".mlserver-venv"
KEEL_KEY = "sk-keel-predict-bench"
_KEEL = str(Path(sys.executable).with_name("keel"))

# model name -> (max_batch_size, max_wait_ms); None: each request runs alone.
BATCHING: dict[str, tuple[int, float] | None] = {
    "clf": None,
    "clf_b2": (32, 2.0),
    "clf_b5": (32, 5.0),
}


@dataclass
class Server:
    """One server process: how to start it, and how each of its models is asked."""

    key: str
    label: str
    argv: list[str]
    port: int
    headers: dict[str, str]
    body: bytes  # the request every client sends
    paths: dict[str, str]  # model name -> infer path
    start_timeout_s: float = 60.0
    env: dict[str, str] = field(default_factory=dict)
    config_text: str = ""


def _infer_path(model: str) -> str:
    return f"/v2/models/{model}/infer"


def keel_config(port: int, workdir: Path) -> str:
    """keel as deployed: an API key per team, usage and audit records in SQLite, access log."""
    predictive: dict[str, dict[str, float]] = {}
    for name, batching in BATCHING.items():
        if batching is not None:
            predictive[name] = {"max_batch_size": batching[0], "max_wait_ms": batching[1]}
    config = {
        "server": {"host": "127.0.0.1", "port": port},
        "store": {"url": f"sqlite:///{workdir}/keel.db"},
        "teams": {"bench": {"models": ["*"], "api_keys": [KEEL_KEY]}},
        "predictive": {"models": predictive},
    }
    return yaml.safe_dump(config, sort_keys=False)


def keel_server(port: int, workdir: Path, onnx: Path, body: bytes) -> Server:
    """Write keel.yaml and register the ONNX artifact under every name of BATCHING."""
    workdir.mkdir(parents=True, exist_ok=True)
    text = keel_config(port, workdir)
    path = workdir / "keel.yaml"
    path.write_text(text)
    for name in BATCHING:
        argv = [_KEEL, "models", "register", name, str(onnx), "--config", str(path)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"keel models register {name} failed: {done.stderr[-400:]}")
    return Server(
        key="keel",
        label="keel",
        argv=[_KEEL, "up", "--config", str(path)],
        port=port,
        headers={"authorization": f"Bearer {KEEL_KEY}"},
        body=body,
        paths={name: _infer_path(name) for name in BATCHING},
        config_text=text,
    )


def ort_server(port: int, onnx: Path, body: bytes) -> Server:
    argv = [sys.executable, str(BENCH / "ort_server.py"), "--port", str(port)]
    return Server(
        key="ort_http",
        label="bare onnxruntime HTTP server",
        argv=[*argv, "--onnx", str(onnx)],
        port=port,
        headers={},
        body=body,
        paths={"clf": _infer_path("clf")},
    )


def mlserver_settings(root: Path, port: int, workers: int) -> dict[str, object]:
    # debug off, as in production (it logs every request at debug level otherwise); its
    # scratch directories in the run's temp dir.
    return {
        "debug": False,
        "metrics_dir": str(root / ".metrics"),
        "environments_dir": str(root / ".envs"),
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": procs.free_port(),
        "metrics_port": procs.free_port(),
        "parallel_workers": workers,
    }


def mlserver_model(name: str) -> dict[str, object]:
    settings: dict[str, object] = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }
    batching = BATCHING[name]
    if batching is not None:
        settings["max_batch_size"] = batching[0]
        settings["max_batch_time"] = batching[1] / 1000  # seconds
    return settings


def mlserver_server(port: int, workdir: Path, joblib: Path, body: bytes, workers: int) -> Server:
    """A model repository: settings.json and one directory per model of BATCHING."""
    root = workdir / f"mlserver-{workers}"
    root.mkdir(parents=True, exist_ok=True)
    settings = mlserver_settings(root, port, workers)
    files = {"settings.json": settings}
    (root / "settings.json").write_text(json.dumps(settings, indent=2))
    for name in BATCHING:
        model_dir = root / name
        model_dir.mkdir(exist_ok=True)
        (model_dir / "model.joblib").write_bytes(joblib.read_bytes())
        files[f"{name}/model-settings.json"] = mlserver_model(name)
        (model_dir / "model-settings.json").write_text(json.dumps(mlserver_model(name), indent=2))
    return Server(
        key=f"mlserver_w{workers}",
        label=f"MLServer, parallel_workers={workers}",
        argv=[str(MLSERVER_VENV / "bin" / "mlserver"), "start", str(root)],
        port=port,
        headers={},
        body=body,
        paths={name: _infer_path(name) for name in BATCHING},
        start_timeout_s=180.0,
        config_text=json.dumps(files, indent=2),
    )


def mlserver_version() -> str | None:
    python = MLSERVER_VENV / "bin" / "python"
    if not python.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('mlserver'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    return done.stdout.strip() or None


def install_mlserver(logdir: Path, timeout_s: float = 1200.0) -> str | None:
    """Run mlserver_setup.sh (idempotent). None when installed, else why not."""
    import sklearn

    env = {"SKLEARN_VERSION": sklearn.__version__}
    proc = procs.start("mlserver-install", ["bash", str(BENCH / "mlserver_setup.sh")], logdir, env)
    try:
        code = proc.popen.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"install timed out after {timeout_s:.0f} s (log: {proc.log})"
    finally:
        procs.stop(proc)
    if code != 0:
        return f"install failed (exit {code}): {' | '.join(proc.tail(3).splitlines())}"
    return None
