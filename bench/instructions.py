"""Instructions per request: keel's full hot path under callgrind, at a base commit and here.

    python bench/instructions.py --base REF [--requests 400]

Wall-clock numbers on a shared machine swing by ±25% from one run to the next; the number of
instructions keel executes per request does not. Each side (REF, checked out into a temporary
worktree, and this tree) runs under ``valgrind --tool=callgrind`` with instrumentation off while
it starts and warms up; then it is switched on for ``--requests`` plain requests and, counted
apart, as many streamed ones, sent one at a time from outside valgrind to the mock upstream of
bench/run.py. Background work that runs on a timer (WAL checkpoints) is counted too, so a few
percent of the count follows the run's length rather than its requests. It prints instructions
per request per side and writes bench/results/<date>-instructions.json.

``--tracing`` turns tracing on in this tree's side (spans exported over OTLP/HTTP to a sink
in this process): the count then includes the batch processor's export thread.
``--tracing lean`` turns the stages' spans off (``tracing.stage_spans: false``);
``--tracing unsampled`` keeps no trace (``sample_ratio: 0``): the cost of tracing on but unsampled.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import procs
import targets
import yaml
from otlp_sink import otlp_sink
from targets import BODY, KEEL_KEY, STREAM_BODY

RESULTS = Path(__file__).resolve().parent / "results"
HEADERS = {"authorization": f"Bearer {KEEL_KEY}", "content-type": "application/json"}


def send(port: int, body: bytes, n: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(n):
        conn.request("POST", "/v1/chat/completions", body, HEADERS)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"bench: HTTP {response.status}: {data[:200]!r}")
    conn.close()


def control(pid: int, *args: str) -> None:
    done = subprocess.run(["callgrind_control", *args, str(pid)], capture_output=True, text=True)
    if "OK" not in done.stdout:  # it exits 0 even when it found no such run
        raise SystemExit(f"bench: callgrind_control {' '.join(args)}: {done.stdout}{done.stderr}")


def dumped(out: Path, before: set[Path]) -> int:
    """Instructions in the dump callgrind wrote since ``before`` (waits for the file)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = sorted(set(out.parent.glob(out.name + "*")) - before)
        for path in new:
            match = re.search(r"^totals: (\d+)", path.read_text(), re.M)
            if match:
                return int(match.group(1))
        time.sleep(0.2)
    raise SystemExit("bench: callgrind wrote no dump")


def phase(pid: int, out: Path, port: int, body: bytes, n: int) -> int:
    before = set(out.parent.glob(out.name + "*"))
    control(pid, "-z")
    control(pid, "--instr=on")
    send(port, body, n)
    control(pid, "--instr=off")
    control(pid, "-d")
    return dumped(out, before)


def measure(
    tree: Path,
    side: str,
    mock_port: int,
    workdir: Path,
    n: int,
    traces: str | None = None,
    mode: str = "stages",
) -> dict[str, Any]:
    port = procs.free_port()
    home = workdir / side
    home.mkdir()
    config = home / "keel.yaml"
    text = targets.full_hot_path_config(mock_port, port, home)
    if traces is not None:
        settings = yaml.safe_load(text)
        settings["tracing"] = {"enabled": True, "endpoint": traces, "stage_spans": mode != "lean"}
        if mode == "unsampled":
            settings["tracing"]["sample_ratio"] = 0.0
        text = yaml.safe_dump(settings, sort_keys=False)
    config.write_text(text)
    out = home / "callgrind.out"
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out}", sys.executable, "-m", "keel", "up",
            "--config", str(config)]  # fmt: skip
    env = {"PYTHONPATH": str(tree), "PYTHONSAFEPATH": "1"}
    proc = procs.start(side, argv, home, env=env, stdout=home / "keel.stdout")
    try:
        auth = {"authorization": HEADERS["authorization"]}
        why = procs.wait_until_answers(proc, port, "/v1/chat/completions", BODY, auth, 300)
        if why:
            raise SystemExit(f"bench: {side} did not start under valgrind: {why}")
        send(port, BODY, 50)
        send(port, STREAM_BODY, 50)
        plain = phase(proc.pid, out, port, BODY, n)
        stream = phase(proc.pid, out, port, STREAM_BODY, n)
    finally:
        procs.stop(proc, grace_s=60)
    return {"plain_per_request": plain / n, "stream_per_request": stream / n}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="the git ref to compare against")
    p.add_argument("--requests", type=int, default=400)
    p.add_argument(
        "--tracing",
        nargs="?",
        const="stages",
        choices=["stages", "lean", "unsampled"],
        help="tracing on in this tree's side (lean: tracing.stage_spans false; unsampled: "
        "sample_ratio 0)",
    )
    p.add_argument(
        "--keep", action="store_true", help="keep the callgrind dumps (for callgrind_annotate)"
    )
    args = p.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("bench: valgrind is not installed (apt-get install -y valgrind)")
    workdir = Path(tempfile.mkdtemp(prefix="keel-instr-"))
    base = workdir / "base-tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], check=True,
                   cwd=targets.REPO, capture_output=True)  # fmt: skip
    mock_port = procs.free_port()
    mock = procs.start("mock", targets.mock_argv(mock_port), workdir)
    result: dict[str, Any] = {"base": args.base, "requests": args.requests}
    result["tracing"] = args.tracing
    traces = otlp_sink() if args.tracing else None
    try:
        if why := procs.wait_until_answers(mock, mock_port, "/v1/chat/completions", BODY, {}, 20):
            raise SystemExit(f"bench: the mock upstream did not start: {why}")
        for side, tree in (("base", base), ("this", targets.REPO)):
            print(f"{side}: under callgrind", flush=True)
            sink = traces if side == "this" else None
            mode = args.tracing or "stages"
            result[side] = measure(tree, side, mock_port, workdir, args.requests, sink, mode)
    finally:
        procs.stop(mock)
        subprocess.run(["git", "worktree", "remove", "--force", str(base)],
                       cwd=targets.REPO, check=False)  # fmt: skip
        if args.keep:
            print(f"dumps kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    lines = ["| instructions per request | base | this tree | change |", "|---|---|---|---|"]
    for kind in ("plain", "stream"):
        a, b = result["base"][f"{kind}_per_request"], result["this"][f"{kind}_per_request"]
        lines.append(f"| {kind} | {a:,.0f} | {b:,.0f} | {(b - a) / a:+.1%} |")
    result["table_markdown"] = "\n".join(lines)
    print(f"\nbase {args.base} against this tree, {args.requests} requests each:\n")
    print(result["table_markdown"])
    RESULTS.mkdir(exist_ok=True)
    suffix = f"-tracing-{args.tracing}" if args.tracing else ""
    path = RESULTS / f"{datetime.date.today().isoformat()}-instructions{suffix}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
