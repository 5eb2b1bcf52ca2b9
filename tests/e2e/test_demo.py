"""`keel up` with no config: the demo. The snippets it prints must work as printed, and its
predictive model, demo-classifier, is made once, at the first start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.procs import free_port, run_process

KEY = os.environ.get("KEEL_DEMO_API_KEY", "sk-keel-demo")
MADE = "keel: demo-classifier trained, registered and named champion (version 1)"
FOUND = "keel: demo-classifier is registered (version 1, champion)"


def banner_commands(log: Path, kind: str) -> tuple[str, str]:
    """The banner's curl and python3 snippets for ``kind``: "chat" or "v2"."""
    lines = [line.strip() for line in log.read_text().splitlines()]
    curls = [line for line in lines if line.startswith("curl ")]
    pythons = [line for line in lines if line.startswith("python3 -c")]
    curl = next(line for line in curls if ("/v2/" in line) == (kind == "v2"))
    python = next(line for line in pythons if ("tritonclient" in line) == (kind == "v2"))
    return curl, python


def wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # training competes with the other tests for the cores
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{log.read_text()}"
        time.sleep(0.1)


def run_snippet(command: str) -> str:
    """Run a banner line as printed, python3 being this interpreter (it has the clients)."""
    command = command.replace("python3", f"'{sys.executable}'", 1)
    result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def start_demo(tmp_path: Path, log: str) -> tuple[list[str], str, Path]:
    port = free_port()
    args = [sys.executable, "-m", "keel", "up", "--port", str(port)]
    return args, f"http://127.0.0.1:{port}", tmp_path / log


def shown(tmp_path: Path, ref: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "keel", "models", "show", ref],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    )
    record: dict[str, Any] = orjson.loads(result.stdout)
    return record


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_demo_snippets_work_as_printed(tmp_path: Path) -> None:
    args, url, log = start_demo(tmp_path, "keel.log")
    with run_process(args, f"{url}/healthz", log, cwd=tmp_path) as proc:
        curl, python = banner_commands(log, "chat")
        assert KEY in curl
        out = subprocess.run(curl, shell=True, capture_output=True, timeout=30, check=True).stdout
        assert orjson.loads(out)["choices"][0]["message"]["content"]
        assert run_snippet(python)
        wait_for_line(log, MADE, proc)
        curl, python = banner_commands(log, "v2")
        out = subprocess.run(curl, shell=True, capture_output=True, timeout=30, check=True).stdout
        assert orjson.loads(out)["outputs"][0]["data"][0] in (0, 1)
        assert run_snippet(python) in ("[0]", "[1]")
    assert (tmp_path / ".keel" / "keel.db").is_file()


def test_the_demo_model_is_made_once(tmp_path: Path) -> None:
    args, url, log = start_demo(tmp_path, "first.log")
    auth = {"authorization": f"Bearer {KEY}"}
    with run_process(args, f"{url}/healthz", log, cwd=tmp_path) as proc:
        wait_for_line(log, MADE, proc)
        curl, _ = banner_commands(log, "v2")
        body = curl.split(" -d '", 1)[1].removesuffix("'")
        infer = f"{url}/v2/models/demo-classifier/infer"
        answer = httpx.post(infer, content=body, headers=auth, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-keel-deployment"] == "demo-classifier:1"
        label = next(o for o in answer.json()["outputs"] if o["name"] == "label")
        assert label["data"][0] in (0, 1)
    record = shown(tmp_path, "demo-classifier@champion")
    assert (record["version"], record["format"], record["aliases"]) == (1, "onnx", ["champion"])
    assert record["metrics"]["accuracy"] > 0.9 and record["metrics"]["roc_auc"] > 0.9
    assert record["training"]["rows"] > 0 and len(record["training"]["features"]) == 30

    args, url, log = start_demo(tmp_path, "second.log")
    with run_process(args, f"{url}/healthz", log, cwd=tmp_path) as proc:
        wait_for_line(log, FOUND, proc)
        ready = httpx.get(f"{url}/v2/models/demo-classifier/ready", headers=auth, timeout=60)
        assert ready.json() == {"name": "demo-classifier", "version": "1", "ready": True}
        metadata = httpx.get(f"{url}/v2/models/demo-classifier", headers=auth, timeout=60)
        assert metadata.json()["versions"] == ["1"]


def test_demo_refuses_to_bind_beyond_loopback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "keel", "up", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "loopback" in result.stderr
