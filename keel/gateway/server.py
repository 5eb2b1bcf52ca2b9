"""Running the gateway: ``keel up``. Loopback checks, the start banner, uvicorn."""

from __future__ import annotations

import ipaddress
import socket
import sys

import uvicorn

from keel.config.schema import KeelConfig
from keel.gateway.app import create_app
from keel.gateway.workers import run_workers

__all__ = ["is_loopback", "serve", "start_banner"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_banner(config: KeelConfig, host: str, port: int) -> str:
    base = f"http://{host}:{port}/v1"
    lines = [f"keel is up: {base}"]
    demo = config.teams.get("demo")
    if config.server.demo and demo is not None and demo.api_keys:
        key = demo.api_keys[0].get_secret_value()
        model = next(iter(config.models), "demo-chat")
        lines += [
            f"demo API key: {key}",
            "",
            "try it with curl:",
            f"  curl -s {base}/chat/completions -H 'authorization: Bearer {key}' "
            f"-H 'content-type: application/json' "
            f'-d \'{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello"}}]}}\'',
            "",
            "or with the OpenAI SDK (pip install openai):",
            '  python3 -c "from openai import OpenAI; '
            f"c = OpenAI(base_url='{base}', api_key='{key}'); "
            f"print(c.chat.completions.create(model='{model}', "
            "messages=[{'role': 'user', 'content': 'Hello'}]).choices[0].message.content)\"",
        ]
    lines += ["", f"metrics: http://{host}:{port}/metrics   health: http://{host}:{port}/readyz"]
    return "\n".join(lines)


def serve(config: KeelConfig, host: str, port: int, workers: int = 1) -> None:
    if config.server.demo and not is_loopback(host):
        raise SystemExit(
            f"keel: the demo config only binds to loopback, not {host}. "
            "Write a keel.yaml with your own teams and keys to serve other hosts."
        )
    if config.auth.none:
        if not is_loopback(host):
            raise SystemExit(
                f"keel: auth: none lets anyone call without a key, so keel binds it only to "
                f"loopback, not {host}. Remove auth: none and give callers keys to serve {host}."
            )
        print(
            "keel: WARNING auth: none: every caller on this machine gets in without a key, as "
            f"team {config.auth.anonymous_team or 'anonymous'}.",
            file=sys.stderr,
        )
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise SystemExit(f"keel: cannot listen on {host}:{port}: {exc.strerror}") from None
    port = sock.getsockname()[1]
    sock.listen(2048)
    print(start_banner(config, host, port), file=sys.stderr, flush=True)
    if workers == 1:
        _serve_one(config, sock)
        return
    print(f"keel: {workers} workers on one socket", file=sys.stderr, flush=True)
    raise SystemExit(run_workers(workers, sock, lambda s: _serve_one(config, s)))


def _serve_one(config: KeelConfig, sock: socket.socket) -> None:
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
    )
    server.run(sockets=[sock])
