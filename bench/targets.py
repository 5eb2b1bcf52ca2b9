"""What the benchmark measures: the mock, keel (minimal, full hot path, N workers), LiteLLM.

Each target is written as a config file in the run's temp dir and started as its own process.
The generated config text goes into the results JSON, so a run can be reproduced from it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import procs
import yaml
from otlp_sink import otlp_sink

__all__ = [
    "BODY",
    "LITELLM_VENV",
    "STREAM_BODY",
    "Target",
    "keel_target",
    "keel_workers_supported",
    "litellm_target",
    "mock_target",
]

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LITELLM_VENV = BENCH / ".venv-litellm"
_KEEL = str(Path(sys.executable).with_name("keel"))

_MESSAGES = [{"role": "user", "content": "Hello"}]
BODY = json.dumps({"model": "m", "messages": _MESSAGES}, separators=(",", ":")).encode()
STREAM_BODY = json.dumps(
    {"model": "m", "stream": True, "messages": _MESSAGES}, separators=(",", ":")
).encode()
KEEL_KEY = "sk-keel-bench"
LITELLM_KEY = "sk-bench"


@dataclass
class Target:
    """One row of the table: how to start it and what its requests carry."""

    key: str
    label: str
    argv: list[str]
    port: int
    headers: dict[str, str]
    pinned: bool = True
    request_ids: bool = False
    start_timeout_s: float = 30.0
    env: dict[str, str] = field(default_factory=dict)
    config_text: str = ""
    stdout_to_file: bool = False


def mock_target(port: int) -> Target:
    return Target(
        key="mock",
        label="mock upstream (direct)",
        argv=[],
        port=port,
        headers={"authorization": f"Bearer {KEEL_KEY}"},
    )


def mock_argv(port: int) -> list[str]:
    return [sys.executable, str(BENCH / "mock_upstream.py"), "--port", str(port), "--chunks", "8"]


def keel_config(mock_port: int, port: int, workdir: Path, access_log: bool) -> str:
    config = {
        "server": {"host": "127.0.0.1", "port": port, "access_log": access_log},
        "store": {"url": f"sqlite:///{workdir}/keel.db"},
        "regions": {"local": {"description": "loopback"}},
        "deployments": [
            {
                "name": "mock",
                "provider": "openai",
                "model": "mock",
                "region": "local",
                "base_url": f"http://127.0.0.1:{mock_port}/v1",
                "api_key": "x",
            }
        ],
        "models": {"m": ["mock"]},
        "teams": {"bench": {"models": ["*"], "api_keys": [KEEL_KEY]}},
    }
    return yaml.safe_dump(config, sort_keys=False)


def full_hot_path_config(mock_port: int, port: int, workdir: Path) -> str:
    """keel with every hot-path stage that exists so far: auth, a data class pinned to the
    region with PII redaction of prompts and answers and the prompt-injection screen (flag),
    the audit chain (on by default), the access log. Budgets and limits join as they land."""
    config = yaml.safe_load(keel_config(mock_port, port, workdir, access_log=True))
    config["data_classes"] = {
        "internal": {
            "regions": ["local"],
            "pii": {"prompts": "redact", "answers": "redact"},
            "injection": {"action": "flag"},
        }
    }
    config["teams"]["bench"]["data_class"] = "internal"
    return yaml.safe_dump(config, sort_keys=False)


def monitors_off_config(mock_port: int, port: int, workdir: Path) -> str:
    """The full hot path with the monitors (traffic, regressions, drift windows) off: what
    they cost is the difference with ``keel_full``, where they run at their defaults."""
    config = yaml.safe_load(full_hot_path_config(mock_port, port, workdir))
    config["monitors"] = {"enabled": False}
    return yaml.safe_dump(config, sort_keys=False)


def tracing_config(mock_port: int, port: int, workdir: Path) -> str:
    """The full hot path with tracing on at its defaults (every call sampled, a span per
    stage), exported over OTLP/HTTP to a sink in the bench's own process."""
    config = yaml.safe_load(full_hot_path_config(mock_port, port, workdir))
    config["tracing"] = {"enabled": True, "endpoint": otlp_sink()}
    return yaml.safe_dump(config, sort_keys=False)


def guarded_config(mock_port: int, port: int, workdir: Path) -> str:
    """The full hot path with every guard on: PII with the NER tagger for names, addresses
    and companies, secrets redacted in prompts and answers, the injection screen (flag)."""
    config = yaml.safe_load(full_hot_path_config(mock_port, port, workdir))
    internal = config["data_classes"]["internal"]
    internal["pii"]["ner"] = True
    internal["secrets"] = {"prompts": "redact", "answers": "redact"}
    return yaml.safe_dump(config, sort_keys=False)


FINOPS_STATE = {"keel_finops_memory": "memory://", "keel_finops_redis": "redis://127.0.0.1:6379/0"}


def finops_config(mock_port: int, port: int, workdir: Path, state_url: str) -> str:
    """The full hot path plus a hard team budget (never reached), a soft key budget, and
    rpm, tpm and concurrency limits per key (never reached): every request reserves, takes
    its windows and slot, and settles, on the given state backend."""
    config = yaml.safe_load(full_hot_path_config(mock_port, port, workdir))
    config["deployments"][0]["price"] = {"input_per_mtok": 2.5, "output_per_mtok": 10}
    config["state"] = {"url": state_url, "prefix": f"bench-{workdir.name}-{port}"}
    config["budgets"] = [
        {"name": "team-month", "scope": "team", "limit_usd": 1_000_000, "period": "month"},
        {"name": "key-day", "scope": "key", "limit_usd": 1_000_000, "period": "day",
         "mode": "soft"},
    ]  # fmt: skip
    config["rate_limits"] = [
        {"name": "key", "scope": "key", "rpm": 10_000_000, "tpm": 10_000_000_000,
         "concurrency": 100_000},
    ]  # fmt: skip
    return yaml.safe_dump(config, sort_keys=False)


def keel_target(
    key: str, label: str, mock_port: int, port: int, workdir: Path, workers: int = 0
) -> Target:
    workdir.mkdir(parents=True, exist_ok=True)
    if key == "keel_full":
        text = full_hot_path_config(mock_port, port, workdir)
    elif key == "keel_guarded":
        text = guarded_config(mock_port, port, workdir)
    elif key == "keel_monitors_off":
        text = monitors_off_config(mock_port, port, workdir)
    elif key == "keel_tracing":
        text = tracing_config(mock_port, port, workdir)
    elif key in FINOPS_STATE:
        text = finops_config(mock_port, port, workdir, FINOPS_STATE[key])
    else:
        text = keel_config(mock_port, port, workdir, access_log=False)
    path = workdir / "keel.yaml"
    path.write_text(text)
    argv = [_KEEL, "up", "--config", str(path)]
    if workers:
        argv += ["--workers", str(workers)]
    return Target(
        key=key,
        label=label,
        argv=argv,
        port=port,
        headers={"authorization": f"Bearer {KEEL_KEY}"},
        pinned=not workers,
        request_ids=key in ("keel_full", "keel_guarded", "keel_monitors_off", "keel_tracing")
        or key in FINOPS_STATE,
        config_text=text,
        stdout_to_file=True,  # the access log, when on, is written for real
    )


def keel_workers_supported() -> bool:
    done = subprocess.run(
        [_KEEL, "up", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    return "--workers" in done.stdout


def litellm_config(mock_port: int) -> str:
    config = {
        "model_list": [
            {
                "model_name": "m",
                "litellm_params": {
                    "model": "openai/mock",
                    "api_base": f"http://127.0.0.1:{mock_port}/v1",
                    "api_key": "x",
                },
            }
        ],
        "general_settings": {"master_key": LITELLM_KEY},
    }
    return yaml.safe_dump(config, sort_keys=False)


def litellm_target(mock_port: int, port: int, workdir: Path) -> Target:
    workdir.mkdir(parents=True, exist_ok=True)
    text = litellm_config(mock_port)
    path = workdir / "litellm.yaml"
    path.write_text(text)
    argv = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(path)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    return Target(
        key="litellm",
        label="LiteLLM proxy",
        argv=argv,
        port=port,
        headers={"authorization": f"Bearer {LITELLM_KEY}"},
        start_timeout_s=120.0,
        # Its bundled cost map instead of fetching one from the internet at start.
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        config_text=text,
        stdout_to_file=True,
    )


def litellm_version() -> str | None:
    python = LITELLM_VENV / "bin" / "python"
    if not python.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    return done.stdout.strip() or None


def install_litellm(logdir: Path, timeout_s: float = 900.0) -> str | None:
    """Run litellm_setup.sh (idempotent). None when installed, else why not."""
    proc = procs.start("litellm-install", ["bash", str(BENCH / "litellm_setup.sh")], logdir)
    try:
        code = proc.popen.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"install timed out after {timeout_s:.0f} s (log: {proc.log})"
    finally:
        procs.stop(proc)
    if code != 0:
        return f"install failed (exit {code}): {' | '.join(proc.tail(3).splitlines())}"
    return None
