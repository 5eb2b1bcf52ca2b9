"""``keel drift detect``: two CSV files, or a stream of pairs of them, compared for drift.

Kept lean for its start time: numpy and keel's drift statistics, no typer, rich or config
(``keel.cli.main`` sends ``keel drift detect`` here before importing them). A parsed
reference is kept by path, modification time and size, so a server comparing many windows
with one reference reads it once.
"""

from __future__ import annotations

import argparse
import sys
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

import orjson

from keel.monitor.drift import Reference, detect
from keel.monitor.drift.csvfile import read_columns
from keel.monitor.drift.reference import Categorical

__all__ = ["compare_files", "main", "serve"]

_CACHE_SIZE = 8
_references: OrderedDict[tuple[str, int, int], Reference] = OrderedDict()


def compare_files(
    reference: Path, current: Path, alpha: float = 0.05, detail: bool = False
) -> dict[str, Any]:
    """The drift report of ``current`` against ``reference``, as the JSON object printed."""
    ref = _reference(reference)
    text = frozenset(n for n, c in ref.columns.items() if isinstance(c, Categorical))
    return detect(ref, read_columns(current, text), alpha).as_dict(detail)


def _reference(path: Path) -> Reference:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    found = _references.get(key)
    if found is None:
        found = Reference.from_columns(read_columns(path))
        _references[key] = found
        if len(_references) > _CACHE_SIZE:
            _references.popitem(last=False)
    _references.move_to_end(key)
    return found


def serve(lines: IO[str], out: IO[str], alpha: float = 0.05, detail: bool = False) -> None:
    """One ``{"reference": path, "current": path}`` per input line, one report (or
    ``{"error": ...}``) per output line, flushed; blank lines are skipped."""
    for line in lines:
        if not line.strip():
            continue
        try:
            body = _answer(line, alpha, detail)
        except Exception as exc:  # one bad line must not stop the server
            body = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(orjson.dumps(body).decode() + "\n")
        out.flush()


def _answer(line: str, alpha: float, detail: bool) -> dict[str, Any]:
    request = orjson.loads(line)
    if not isinstance(request, dict) or not {"reference", "current"} <= request.keys():
        raise ValueError('each line must be {"reference": path, "current": path}')
    return compare_files(Path(request["reference"]), Path(request["current"]), alpha, detail)


def main(argv: list[str]) -> int:
    """``keel drift detect ...`` (``argv`` after ``detect``); the exit status."""
    args = _parser().parse_args(argv)
    if not 0.0 < args.alpha < 1.0:
        print("keel drift detect: --alpha must be between 0 and 1", file=sys.stderr)
        return 2
    if args.serve:
        serve(sys.stdin, sys.stdout, args.alpha, args.detail)
        return 0
    if args.reference is None or args.current is None:
        print("keel drift detect: give --reference and --current (or --serve)", file=sys.stderr)
        return 2
    try:
        body = compare_files(args.reference, args.current, args.alpha, args.detail)
    except (OSError, ValueError) as exc:
        print(f"keel drift detect: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(orjson.dumps(body).decode() + "\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keel drift detect",
        description="Compare a window of inputs (CSV, rows in time order) with a reference "
        "CSV, per column; print one JSON object.",
    )
    parser.add_argument("--reference", type=Path, help="The reference CSV (header row).")
    parser.add_argument("--current", type=Path, help="The window CSV, same columns.")
    parser.add_argument(
        "--serve",
        action="store_true",
        help='Read {"reference": path, "current": path} per stdin line, write a report per line.',
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="Family-wise error rate (default 0.05)."
    )
    parser.add_argument(
        "--detail",
        action="store_true",
        help="Add each column's adjusted p-value, rows and per-test scores.",
    )
    return parser
