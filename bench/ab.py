"""Before and after: keel's full hot path at a base commit and in this tree, interleaved.

    python bench/ab.py --base REF [--rounds 3] [--point-s 5] [--target keel_finops_redis]

A hot-path change comes with numbers; on a shared machine a run varies by ±10-25%, so one run
of each proves little. This starts the mock once, checks REF out into a temporary worktree, and
alternates base and this tree for ``--rounds`` rounds, each measuring plain saturation (wrk c50),
one connection (c1) and streamed saturation, with the same pinning as bench/run.py. It prints
the median of each number per side and writes bench/results/<date>-ab.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import procs
import targets
from measure import Bench, closed_point, warm
from run import PATH, RESULTS, check_stream, requests_for, start_mock
from targets import BODY
from wrkrun import ensure_wrk

NUMBERS = {  # label: (point, path into its result)
    "req/s c50": ("sat", ("req_per_s",)),
    "CPU-ms/req": ("sat", ("cpu_ms_per_req",)),
    "c1 p50 ms": ("c1", ("latency_ms", "p50")),
    "c1 p99 ms": ("c1", ("latency_ms", "p99")),
    "stream req/s": ("stream", ("req_per_s",)),
    "stream CPU-ms/req": ("stream", ("cpu_ms_per_req",)),
}


def checkout(ref: str, into: Path) -> Path:
    tree = into / "base"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), ref], check=True,
                   cwd=targets.REPO, capture_output=True)  # fmt: skip
    return tree


def measure(
    b: Bench, pin: procs.Pinning, tree: Path, side: str, rnd: int, target: str
) -> dict[str, Any]:
    workdir = b.workdir / f"{side}-{rnd}"
    t = targets.keel_target(target, side, b.mock_port, procs.free_port(), workdir)
    t.argv = [sys.executable, "-m", "keel", *t.argv[1:]]
    # PYTHONSAFEPATH: the working directory must not put another checkout's keel first.
    t.env = {"PYTHONPATH": str(tree), "PYTHONSAFEPATH": "1"}
    proc = procs.start(t.key, [*pin.gateway, *t.argv], workdir, env=t.env,
                       stdout=workdir / "keel.stdout")  # fmt: skip
    try:
        why = procs.wait_until_answers(proc, t.port, PATH, BODY, t.headers, 30)
        if why or (why := check_stream(t)):
            raise SystemExit(f"bench: {side} did not answer: {why}")
        plain, stream = requests_for(t)
        warm(b, plain, b.warmup_s)
        out = {"sat": closed_point(b, proc.pid, plain, 50)}
        out["c1"] = closed_point(b, proc.pid, plain, 1)
        warm(b, stream, 1)
        out["stream"] = closed_point(b, proc.pid, stream, 50)
        return out
    finally:
        procs.stop(proc)


def number(point: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = point
    for key in path:
        value = value[key]
    return float(value)


def summary(runs: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["| number | base | this tree | change |", "|---|---|---|---|"]
    for label, (point, path) in NUMBERS.items():
        base, this = (statistics.median(number(r[point], path) for r in runs[s])
                      for s in ("base", "this"))  # fmt: skip
        lines.append(f"| {label} | {base:.4g} | {this:.4g} | {(this - base) / base:+.1%} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="the git ref to compare against")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--point-s", type=float, default=5.0)
    p.add_argument("--target", default="keel_full", help="keel_full or keel_finops_<state>")
    args = p.parse_args()
    wrk = ensure_wrk()
    if wrk is None:
        raise SystemExit(1)
    pin = procs.pinning()
    if pin.pinned:
        os.sched_setaffinity(0, {1})
    workdir = Path(tempfile.mkdtemp(prefix="keel-ab-"))
    trees = {"base": checkout(args.base, workdir), "this": targets.REPO}
    mock_port = procs.free_port()
    mock = start_mock(workdir, pin, mock_port)
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "this": []}
    try:
        b = Bench(wrk, pin.gateway, pin.load, workdir, 2.0, args.point_s, 1.0, mock.pid,
                  mock_port)  # fmt: skip
        for rnd in range(args.rounds):
            for side in ("base", "this") if rnd % 2 == 0 else ("this", "base"):
                print(f"round {rnd + 1}: {side}", flush=True)
                runs[side].append(measure(b, pin, trees[side], side, rnd, args.target))
    finally:
        procs.stop(mock)
        subprocess.run(["git", "worktree", "remove", "--force", str(trees["base"])],
                       cwd=targets.REPO, check=False)  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)
    table = summary(runs)
    head = f"{args.target}: base {args.base} against this tree, median of {args.rounds} rounds"
    print(f"\n{head}:\n\n{table}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.date.today().isoformat()}-ab.json"
    result = {
        "base": args.base,
        "target": args.target,
        "rounds": args.rounds,
        "point_s": args.point_s,
        "pinning": pin.note,
        "runs": runs,
        "table_markdown": table,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
