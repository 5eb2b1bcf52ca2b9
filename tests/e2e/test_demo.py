"""`keel up` with no config: the demo. The snippets it prints must work as printed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.e2e.procs import free_port, run_process


def banner_commands(log: Path) -> tuple[str, str]:
    lines = log.read_text().splitlines()
    curl = next(line.strip() for line in lines if line.strip().startswith("curl "))
    python = next(line.strip() for line in lines if line.strip().startswith("python3 -c"))
    return curl, python


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_demo_snippets_work_as_printed(tmp_path: Path) -> None:
    port = free_port()
    args = [sys.executable, "-m", "keel", "up", "--port", str(port)]
    log = tmp_path / "keel.log"
    with run_process(args, f"http://127.0.0.1:{port}/healthz", log, cwd=tmp_path):
        curl, python = banner_commands(log)
        assert os.environ.get("KEEL_DEMO_API_KEY", "sk-keel-demo") in curl
        out = subprocess.run(curl, shell=True, capture_output=True, timeout=30, check=True).stdout
        assert orjson.loads(out)["choices"][0]["message"]["content"]
        # The banner says python3; run it with this interpreter, which has the openai SDK.
        snippet = python.replace("python3", f"'{sys.executable}'", 1)
        result = subprocess.run(snippet, shell=True, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip()
    assert (tmp_path / ".keel" / "keel.db").is_file()


def test_demo_refuses_to_bind_beyond_loopback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "keel", "up", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "loopback" in result.stderr
