"""keel's benchmark: what the gateway costs over calling the upstream directly, and against LiteLLM.

    python bench/run.py [--quick] [--label L] [--skip-litellm]

Starts the mock upstream, then each target in turn (mock direct, keel minimal, keel full hot path,
LiteLLM, keel with 1 and 2 workers), loads it with wrk (closed loop) and bench/loadgen.py (open
loop, streaming), prints one markdown table and a targets section, and writes
bench/results/<date>-<label>.json. Loopback only; every process it starts is stopped by PID.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import procs
import report
import targets
from measure import Bench, closed_point, loadgen_point, warm
from targets import BODY, STREAM_BODY, Target
from wrkrun import Request, ensure_wrk

PATH = "/v1/chat/completions"
RESULTS = Path(__file__).resolve().parent / "results"
Row = dict[str, Any]


@dataclasses.dataclass
class Plan:
    quick: bool
    warmup_s: float
    point_s: float
    loadgen_warmup_s: float
    rate: float | None = None  # open-loop offered rate: half of keel minimal's saturation


def requests_for(t: Target) -> tuple[Request, Request]:
    plain = Request(t.port, PATH, t.headers, BODY, t.request_ids)
    return plain, dataclasses.replace(plain, body=STREAM_BODY)


def point_sat(b: Bench, root: int, t: Target, plan: Plan, row: Row) -> Row:
    plain, _ = requests_for(t)
    warm(b, plain, plan.warmup_s)
    return closed_point(b, root, plain, 50)


def point_c1(b: Bench, root: int, t: Target, plan: Plan, row: Row) -> Row:
    return closed_point(b, root, requests_for(t)[0], 1)


def point_open(b: Bench, root: int, t: Target, plan: Plan, row: Row) -> Row:
    sat = row.get("sat", {}).get("req_per_s")
    if plan.rate is None:
        if t.key != "keel_min" or not sat:
            return {"skipped": "no rate: keel minimal's saturation was not measured"}
        plan.rate = round(sat / 2)
    if sat and plan.rate > 0.8 * sat:
        return {"skipped": f"offered {plan.rate}/s is above 80% of its saturation ({sat:.0f}/s)"}
    return loadgen_point(b, root, requests_for(t)[0], ["--rate", str(plan.rate)])


def point_stream_sat(b: Bench, root: int, t: Target, plan: Plan, row: Row) -> Row:
    stream = requests_for(t)[1]
    warm(b, stream, 1)
    return closed_point(b, root, stream, 50)


def point_stream_c1(b: Bench, root: int, t: Target, plan: Plan, row: Row) -> Row:
    return loadgen_point(b, root, requests_for(t)[1], ["--concurrency", "1"])


POINTS: dict[str, Callable[[Bench, int, Target, Plan, Row], Row]] = {
    "sat": point_sat,
    "c1": point_c1,
    "open": point_open,
    "stream_sat": point_stream_sat,
    "stream_c1": point_stream_c1,
}
ALL = list(POINTS)


def measure_points(b: Bench, root: int, t: Target, plan: Plan, points: list[str]) -> Row:
    row: Row = {"key": t.key, "label": t.label, "pinned": t.pinned}
    for name in points:
        print(f"  {t.key}: {name}", flush=True)
        try:
            row[name] = POINTS[name](b, root, t, plan, row)
        except Exception as exc:  # one failed point must not lose the rest of the run
            row[name] = {"error": f"{type(exc).__name__}: {exc}"}
        _warn_errors(t.key, name, row[name])
    row["rss_mib"] = round(procs.rss_mib(root), 1)
    return row


def _warn_errors(key: str, point: str, numbers: Row) -> None:
    bad = numbers.get("error") or numbers.get("errors")
    if bad:
        print(f"  !! {key} {point}: {bad}", flush=True)
    if numbers.get("other_cores", 0) > report.DISTURBED:
        print(f"  !! {key} {point}: other programs used {numbers['other_cores']} cores", flush=True)


def check_stream(t: Target) -> str | None:
    status, body = procs.post(t.port, PATH, STREAM_BODY, t.headers, timeout=30)
    if status != 200 or b"[DONE]" not in body:
        return f"streamed answer was HTTP {status}: {body[:200]!r}"
    return None


def run_target(b: Bench, pin: procs.Pinning, t: Target, plan: Plan, points: list[str]) -> Row:
    """Start the target, check it answers (plain and streamed), measure, stop it by PID."""
    prefix = pin.gateway if t.pinned else pin.every
    stdout = b.workdir / f"{t.key}.stdout" if t.stdout_to_file else None
    print(f"{t.label}: starting", flush=True)
    started = time.monotonic()
    proc = procs.start(t.key, [*prefix, *t.argv], b.workdir, env=t.env, stdout=stdout)
    try:
        why = procs.wait_until_answers(proc, t.port, PATH, BODY, t.headers, t.start_timeout_s)
        why = why or check_stream(t)
        if why:
            return {"key": t.key, "label": t.label, "error": why}
        start_s = round(time.monotonic() - started, 1)
        row = measure_points(b, proc.pid, t, plan, points)
        row["start_s"] = start_s
        return row
    finally:
        stopping = time.monotonic()
        procs.stop(proc)
        print(f"{t.label}: stopped in {time.monotonic() - stopping:.1f} s", flush=True)


def litellm_row(b: Bench, pin: procs.Pinning, plan: Plan, skip: bool) -> Row:
    label = "LiteLLM proxy"
    if skip:
        return {"key": "litellm", "label": label, "error": "skipped (--skip-litellm)"}
    print("LiteLLM: installing into bench/.venv-litellm if needed", flush=True)
    why = targets.install_litellm(b.workdir)
    if why:
        return {"key": "litellm", "label": label, "error": why}
    t = targets.litellm_target(b.mock_port, procs.free_port(), b.workdir / "litellm")
    version = targets.litellm_version()
    t.label = f"LiteLLM {version} proxy"
    points = ["sat", "c1", "open", "stream_sat"] + ([] if plan.quick else ["stream_c1"])
    row = run_target(b, pin, t, plan, points)
    row.update(config=t.config_text, version=version)
    return row


def keel_row(b: Bench, pin: procs.Pinning, plan: Plan, key: str, label: str) -> Row:
    workdir = b.workdir / key
    t = targets.keel_target(key, label, b.mock_port, procs.free_port(), workdir)
    row = run_target(b, pin, t, plan, ALL)
    row["config"] = t.config_text
    return row


def worker_rows(b: Bench, pin: procs.Pinning, plan: Plan) -> list[Row]:
    """keel minimal with --workers 1 and 2, everything on all cores so a second worker can help."""
    if not targets.keel_workers_supported():
        return [{"key": "keel_workers", "label": "keel minimal, --workers N", "error": _NO_WORKERS}]
    every = dataclasses.replace(b, load_prefix=pin.every)
    short = dataclasses.replace(plan, warmup_s=min(plan.warmup_s, 2))
    all_cores = set(range(os.cpu_count() or 1))
    os.sched_setaffinity(b.mock_pid, all_cores)
    rows = []
    try:
        for n in (1, 2):
            key, label = f"keel_workers_{n}", f"keel minimal, {n} worker(s), unpinned"
            t = targets.keel_target(key, label, b.mock_port, procs.free_port(), b.workdir / key, n)
            rows.append(run_target(every, pin, t, short, ["sat"]))
    finally:
        if pin.pinned:
            os.sched_setaffinity(b.mock_pid, {1})
    return rows


_NO_WORKERS = "skipped: `keel up --help` has no --workers yet"


def all_rows(b: Bench, pin: procs.Pinning, plan: Plan, skip_litellm: bool) -> list[Row]:
    mock = targets.mock_target(b.mock_port)
    print("mock upstream (direct): measuring", flush=True)
    rows = [measure_points(b, b.mock_pid, mock, plan, ["sat", "c1", "stream_sat", "stream_c1"])]
    rows.append(keel_row(b, pin, plan, "keel_min", "keel minimal (auth + accounting)"))
    print("mock upstream (direct): open loop at keel minimal's rate", flush=True)
    rows[0]["open"] = point_open(b, b.mock_pid, mock, plan, rows[0])
    rows.append(keel_row(b, pin, plan, "keel_full", "keel full hot path (1 worker)"))
    rows.append(keel_row(b, pin, plan, "keel_monitors_off", "keel full, monitors off"))
    rows.append(keel_row(b, pin, plan, "keel_tracing", "keel full, tracing on (every call)"))
    rows.append(keel_row(b, pin, plan, "keel_guarded", "keel full + NER, secrets (every guard)"))
    rows.append(
        keel_row(b, pin, plan, "keel_finops_memory", "keel full + budgets & limits, memory://")
    )
    rows.append(keel_row(b, pin, plan, "keel_finops_redis", "keel full + budgets & limits, Redis"))
    rows.append(litellm_row(b, pin, plan, skip_litellm))
    return rows + worker_rows(b, pin, plan)


def start_mock(workdir: Path, pin: procs.Pinning, port: int) -> procs.Proc:
    proc = procs.start("mock", [*pin.load, *targets.mock_argv(port)], workdir)
    try:
        why = procs.wait_until_answers(proc, port, PATH, BODY, {}, 20)
        if why:
            raise SystemExit(f"bench: the mock upstream did not start: {why}")
    except BaseException:
        procs.stop(proc)
        raise
    return proc


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short points (about 2 minutes in all)")
    p.add_argument("--label", help="results file label (default: quick or full)")
    p.add_argument("--skip-litellm", action="store_true", help="no LiteLLM row")
    p.add_argument("--keep-workdir", action="store_true", help="keep configs and logs")
    return p.parse_args()


def make_plan(quick: bool) -> Plan:
    if quick:
        return Plan(quick=True, warmup_s=3, point_s=3, loadgen_warmup_s=1)
    return Plan(quick=False, warmup_s=5, point_s=15, loadgen_warmup_s=3)


def _on_signal(signum: int, _: object) -> None:
    raise SystemExit(f"bench: stopped by signal {signum}")


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    wrk = ensure_wrk()
    if wrk is None:
        raise SystemExit(1)
    pin = procs.pinning()
    if pin.pinned:
        os.sched_setaffinity(0, {1})  # this script's own reads stay off the gateway's core
    print(f"bench: {pin.note}", flush=True)
    plan = make_plan(args.quick)
    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-"))
    mock_port = procs.free_port()
    mock = start_mock(workdir, pin, mock_port)
    try:
        b = Bench(wrk, pin.gateway, pin.load, workdir, plan.warmup_s, plan.point_s,
                  plan.loadgen_warmup_s, mock.pid, mock_port)  # fmt: skip
        rows = all_rows(b, pin, plan, args.skip_litellm)
    finally:
        procs.stop(mock)
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    finish(args, plan, pin, wrk, rows, time.monotonic() - began)


def finish(
    args: argparse.Namespace,
    plan: Plan,
    pin: procs.Pinning,
    wrk: str,
    rows: list[Row],
    elapsed: float,
) -> None:
    label = args.label or ("quick" if args.quick else "full")
    table = report.render_table(rows)
    checks = report.evaluate_targets(rows)
    notes = report.notes(rows, plan.rate, pin.note)
    print("\n" + table + "\n\n" + "\n".join(notes) + "\n\n" + report.render_targets(checks))
    lite = next((r for r in rows if r["key"] == "litellm"), {})
    result = {
        "label": label,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if plan.quick else "full",
        "plan": dataclasses.asdict(plan),
        "pinning": pin.note,
        "machine": report.machine_facts(),
        "versions": report.versions(wrk, lite.get("version")),
        "rows": rows,
        "targets": checks,
        "table_markdown": table,
        "notes": notes,
        "elapsed_s": round(elapsed, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.date.today().isoformat()}-{label}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    print(f"\nresults: {path}\nbench took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
