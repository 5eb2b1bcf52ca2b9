"""What each client protocol costs keel per request: chat, Anthropic Messages, OpenAI Responses.

    python bench/protocols.py [--quick] [--rounds 3] [--point-s 10] [--tree PATH]
    python bench/protocols.py --instructions [--requests 300] [--tree PATH]

One mock upstream (OpenAI-compatible) and one keel with the full hot path config of
bench/targets.py are started once. Then, for ``--rounds`` rounds, each protocol in turn (the order
rotates every round, so the machine's drift spreads over all of them) gets plain saturation and
streamed saturation (wrk, closed loop, 50 connections), with keel's CPU-ms per request read over
each point. Messages and Responses reach the mock translated to Chat Completions, so the
difference from chat is what translation costs. A protocol this keel does not serve (404 or 405)
is skipped with a note. Prints medians over the rounds and writes
bench/results/<date>-protocols[-quick].json. With ``--instructions`` it counts instead the
instructions keel executes per request of each protocol under callgrind, which the machine's
load does not move (bench/protocol_instructions.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import procs
import protocol_instructions
import report
import targets
from measure import Bench, closed_point, warm
from run import RESULTS, start_mock
from targets import BODY, KEEL_KEY, STREAM_BODY
from wrkrun import Request, ensure_wrk

GOAL_MS = 0.05  # translation may cost at most this much CPU per request over chat
_TEXT = "Hello"  # the user's words in bench/targets.py's BODY
_MAX_TOKENS = 256
_BEARER = {"authorization": f"Bearer {KEEL_KEY}"}
Point = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """One client protocol: where it posts, what it sends, and how its answers look."""

    name: str
    path: str
    body: bytes
    stream_body: bytes
    headers: dict[str, str]
    shape: tuple[str, str]  # a top-level field and its value in a plain answer
    stream_marker: bytes  # present in every complete streamed answer


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _streamed(value: dict[str, Any]) -> bytes:
    return _json({**value, "stream": True})


_MESSAGES_BODY = {
    "model": "m",
    "max_tokens": _MAX_TOKENS,
    "messages": [{"role": "user", "content": _TEXT}],
}
_RESPONSES_BODY = {"model": "m", "input": _TEXT, "max_output_tokens": _MAX_TOKENS}
# The same, not stored: what translation costs without the store's part (chat stores nothing).
_UNSTORED_BODY = {**_RESPONSES_BODY, "store": False}

PROTOCOLS = [
    Protocol(
        "chat",
        "/v1/chat/completions",
        BODY,
        STREAM_BODY,
        _BEARER,
        ("object", "chat.completion"),
        b"data: [DONE]",
    ),
    Protocol(
        "messages",
        "/v1/messages",
        _json(_MESSAGES_BODY),
        _streamed(_MESSAGES_BODY),
        {"x-api-key": KEEL_KEY, "anthropic-version": "2023-06-01"},
        ("type", "message"),
        b"event: message_stop",
    ),
    Protocol(
        "responses",
        "/v1/responses",
        _json(_RESPONSES_BODY),
        _streamed(_RESPONSES_BODY),
        _BEARER,
        ("object", "response"),
        b"response.completed",
    ),
    Protocol(
        "responses-unstored",
        "/v1/responses",
        _json(_UNSTORED_BODY),
        _streamed(_UNSTORED_BODY),
        _BEARER,
        ("object", "response"),
        b"response.completed",
    ),
]


def probe(p: Protocol, port: int) -> str | None:
    """None when keel answers this protocol in its own shape, plain and streamed; else why not.

    A 404 or 405 means this keel does not serve the route yet: the reason then starts with
    ``skipped``, and the run goes on without it.
    """
    status, body = procs.post(port, p.path, p.body, p.headers, timeout=30)
    if status in (404, 405):
        return f"skipped: POST {p.path} answered {status} (not served by this keel)"
    field, want = p.shape
    try:
        got = json.loads(body).get(field) if status == 200 else None
    except (ValueError, AttributeError):
        got = None
    if got != want:
        return f"error: POST {p.path} answered {status}, {field}={got!r}: {body[:200]!r}"
    status, body = procs.post(port, p.path, p.stream_body, p.headers, timeout=30)
    if status != 200 or p.stream_marker not in body:
        marker = p.stream_marker.decode()
        return f"error: streamed POST {p.path} answered {status} without {marker!r}: {body[:200]!r}"
    return None


def measure(b: Bench, root: int, port: int, p: Protocol) -> dict[str, Point]:
    """Plain then streamed saturation, each after a warm-up whose numbers are thrown away."""
    # A fresh x-request-id per request, as bench/run.py's full hot path row sends.
    plain = Request(port, p.path, p.headers, p.body, request_ids=True)
    stream = dataclasses.replace(plain, body=p.stream_body)
    warm(b, plain, b.warmup_s)
    out = {"plain": closed_point(b, root, plain, 50)}
    warm(b, stream, 1)
    out["stream"] = closed_point(b, root, stream, 50)
    for kind, point in out.items():
        if point["errors"] or point["other_cores"] > report.DISTURBED:
            print(
                f"  !! {p.name} {kind}: errors {point['errors']}, "
                f"other programs {point['other_cores']} cores",
                flush=True,
            )
    return out


def start_keel(b: Bench, pin: procs.Pinning, tree: Path) -> tuple[procs.Proc, targets.Target]:
    """keel's full hot path, from ``tree``'s sources, on the gateway's core."""
    t = targets.keel_target(
        "keel_full", "keel full hot path", b.mock_port, procs.free_port(), b.workdir / "keel"
    )
    t.argv = [sys.executable, "-m", "keel", *t.argv[1:]]
    # PYTHONSAFEPATH: the working directory must not put another checkout's keel first.
    env = {"PYTHONPATH": str(tree), "PYTHONSAFEPATH": "1"}
    proc = procs.start(
        "keel", [*pin.gateway, *t.argv], b.workdir, env=env, stdout=b.workdir / "keel.stdout"
    )
    why = procs.wait_until_answers(proc, t.port, PROTOCOLS[0].path, BODY, _BEARER, 60)
    if why:
        procs.stop(proc)
        raise SystemExit(f"bench: keel did not answer: {why}")
    return proc, t


def run_rounds(
    b: Bench, root: int, port: int, live: list[Protocol], rounds: int
) -> dict[str, list[dict[str, Point]]]:
    runs: dict[str, list[dict[str, Point]]] = {p.name: [] for p in live}
    for rnd in range(rounds):
        shift = rnd % len(live)
        for p in live[shift:] + live[:shift]:
            print(f"round {rnd + 1}/{rounds}: {p.name}", flush=True)
            runs[p.name].append(measure(b, root, port, p))
    return runs


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def over_chat(runs: dict[str, list[dict[str, Point]]], name: str, kind: str) -> list[float]:
    """CPU-ms/req of ``name`` minus chat's, round by round (pairs share the machine's state)."""
    pairs = zip(runs.get(name, []), runs.get("chat", []), strict=False)
    return [
        a[kind]["cpu_ms_per_req"] - c[kind]["cpu_ms_per_req"]
        for a, c in pairs
        if a[kind]["cpu_ms_per_req"] is not None and c[kind]["cpu_ms_per_req"] is not None
    ]


def summarize(runs: dict[str, list[dict[str, Point]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, rounds in runs.items():
        out[name] = {}
        for kind in ("plain", "stream"):
            cpu = [r[kind]["cpu_ms_per_req"] for r in rounds if r[kind]["cpu_ms_per_req"]]
            diffs = over_chat(runs, name, kind) if name != "chat" else []
            out[name][kind] = {
                "req_per_s": _median([r[kind]["req_per_s"] for r in rounds]),
                "cpu_ms_per_req": _median(cpu),
                "over_chat_ms": _median(diffs),
                "over_chat_by_round": [round(d, 4) for d in diffs],
                "errors": sum(r[kind]["errors"] for r in rounds),
            }
    return out


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def render(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| protocol | req/s | CPU-ms/req | vs chat | stream req/s | stream CPU-ms/req | vs chat |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, kinds in summary.items():
        cells = [name]
        for kind in ("plain", "stream"):
            s = kinds[kind]
            diff = "—" if name == "chat" else _num(s["over_chat_ms"], "+.4f")
            cells += [_num(s["req_per_s"], ",.0f"), _num(s["cpu_ms_per_req"], ".4f"), diff]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals(summary: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Translation under GOAL_MS CPU-ms/req over chat: reported, not asserted."""
    checks = []
    for name, kinds in summary.items():
        for kind in ("plain", "stream") if name != "chat" else ():
            diff = kinds[kind]["over_chat_ms"]
            met = None if diff is None else diff < GOAL_MS
            checks.append(
                {
                    "protocol": name,
                    "kind": kind,
                    "over_chat_ms": diff,
                    "by_round": kinds[kind]["over_chat_by_round"],
                    "met": met,
                }
            )
    return checks


def render_goals(checks: list[dict[str, Any]]) -> str:
    lines = [f"Goal (reported, not asserted): translation < {GOAL_MS} CPU-ms/req over chat"]
    for c in checks:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[c["met"]]
        rounds = ", ".join(f"{d:+.4f}" for d in c["by_round"])
        lines.append(
            f"- {c['protocol']} {c['kind']}: {_num(c['over_chat_ms'], '+.4f')} "
            f"(rounds: {rounds}): {verdict}"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 round of short points (~1 minute)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--point-s", type=float, default=10.0, help="seconds per measured point")
    p.add_argument(
        "--tree",
        type=Path,
        default=targets.REPO,
        help="the keel checkout to run (default: this one)",
    )
    p.add_argument("--keep-workdir", action="store_true", help="keep configs and logs")
    p.add_argument(
        "--instructions", action="store_true", help="count instructions/request (callgrind)"
    )
    p.add_argument("--requests", type=int, default=300, help="counted requests per kind")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.point_s = 1, 3.0
    if args.rounds < 1 or args.point_s < 1 or args.requests < 1:
        p.error("--rounds, --point-s and --requests must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    if args.instructions:
        protocol_instructions.run(args.tree.resolve(), PROTOCOLS, args.requests, args.keep_workdir)
        return
    began = time.monotonic()
    wrk = ensure_wrk()
    if wrk is None:
        raise SystemExit(1)
    pin = procs.pinning()
    if pin.pinned:
        os.sched_setaffinity(0, {1})  # this script's own reads stay off keel's core
    workdir = Path(tempfile.mkdtemp(prefix="keel-protocols-"))
    mock_port = procs.free_port()
    mock = start_mock(workdir, pin, mock_port)
    warmup_s = 2.0 if args.quick else 3.0
    b = Bench(wrk, pin.gateway, pin.load, workdir, warmup_s, args.point_s, 1.0, mock.pid, mock_port)
    keel: procs.Proc | None = None
    try:
        keel, t = start_keel(b, pin, args.tree.resolve())
        checked = {p.name: probe(p, t.port) for p in PROTOCOLS}
        live = [p for p in PROTOCOLS if checked[p.name] is None]
        for name, why in checked.items():
            if why:
                print(f"bench: {name}: {why}", flush=True)
        if not live or live[0].name != "chat":
            raise SystemExit(f"bench: chat must answer to compare against: {checked['chat']}")
        runs = run_rounds(b, keel.pid, t.port, live, args.rounds)
    finally:
        if keel is not None:
            procs.stop(keel)
        procs.stop(mock)
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    finish(args, pin, wrk, t, checked, runs, time.monotonic() - began)


def notes(pin: procs.Pinning, checked: dict[str, str | None], runs: dict[str, Any]) -> list[str]:
    out = [
        f"- {pin.note}; keel with the full hot path config of bench/targets.py.",
        "- messages and responses are translated to Chat Completions for the mock; "
        "vs chat = median over rounds of (protocol - chat) in the same round.",
    ]
    out += [f"- {name}: {why}" for name, why in checked.items() if why]
    for name, rounds in runs.items():
        for i, r in enumerate(rounds):
            for kind, point in r.items():
                if point["errors"]:
                    out.append(f"- {name} {kind} round {i + 1}: {point['errors']} errors")
                if point["other_cores"] > report.DISTURBED:
                    out.append(
                        f"- DISTURBED: {name} {kind} round {i + 1}: other programs used "
                        f"{point['other_cores']:.2f} cores"
                    )
    return out


def finish(
    args: argparse.Namespace,
    pin: procs.Pinning,
    wrk: str,
    t: targets.Target,
    checked: dict[str, str | None],
    runs: dict[str, list[dict[str, Point]]],
    elapsed: float,
) -> None:
    summary = summarize(runs)
    checks = goals(summary)
    table, lines = render(summary), notes(pin, checked, runs)
    head = f"median of {args.rounds} round(s), {args.point_s:g} s points, wrk c50"
    print(f"\n{head}:\n\n{table}\n\n" + "\n".join(lines) + "\n\n" + render_goals(checks))
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "rounds": args.rounds,
        "point_s": args.point_s,
        "tree": str(args.tree),
        "pinning": pin.note,
        "machine": report.machine_facts(),
        "versions": report.versions(wrk, None),
        "config": t.config_text,
        "protocols": {
            p.name: {
                "path": p.path,
                "body": p.body.decode(),
                "stream_body": p.stream_body.decode(),
                "probe": checked[p.name],
            }
            for p in PROTOCOLS
        },
        "runs": runs,
        "summary": summary,
        "goals": checks,
        "table_markdown": table,
        "notes": lines,
        "elapsed_s": round(elapsed, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    suffix = "-quick" if args.quick else ""
    path = RESULTS / f"{datetime.date.today().isoformat()}-protocols{suffix}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults: {path}\nbench took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
