"""``keel up --workers N``: N processes serving one listening socket.

The parent binds the socket, forks the workers and supervises them: SIGTERM or SIGINT is passed
on to every worker; a worker that dies unexpectedly takes the others down with it, so the
process manager (systemd, Kubernetes) sees the failure and restarts keel whole.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable

__all__ = ["run_workers"]


def run_workers(count: int, sock: socket.socket, serve_one: Callable[[socket.socket], None]) -> int:
    """Fork ``count`` workers each running ``serve_one(sock)``; return the exit status."""
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            _child(sock, serve_one)
        children.append(pid)

    stopping: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        stopping.append(signum)
        for pid in children:
            _kill(pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return _supervise(children, stopping)


def _child(sock: socket.socket, serve_one: Callable[[socket.socket], None]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    status = 0
    try:
        serve_one(sock)
    except BaseException as exc:  # a worker must never fall back into the parent's code
        print(f"keel worker {os.getpid()} failed: {exc!r}", file=sys.stderr, flush=True)
        status = 1
    finally:
        os._exit(status)


def _supervise(children: list[int], stopping: list[int]) -> int:
    status = 0
    alive = set(children)
    while alive:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        alive.discard(pid)
        _mark_dead(pid)
        code = os.waitstatus_to_exitcode(wait_status)
        # uvicorn shuts down cleanly on the forwarded signal, then re-raises it to exit.
        if code == 0 or (stopping and -code in (signal.SIGTERM, signal.SIGINT)):
            continue
        status = 1
        print(f"keel worker {pid} exited with {code}; stopping the others", file=sys.stderr)
        for other in alive:
            _kill(other, signal.SIGTERM)
    return status


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _mark_dead(pid: int) -> None:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
