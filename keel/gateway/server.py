"""Running the gateway: ``keel up``. Loopback checks, the start banner, uvicorn."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from collections.abc import Callable

import uvicorn

from keel.config.schema import KeelConfig
from keel.gateway.app import create_app
from keel.gateway.workers import run_workers
from keel.registry.demo import DEMO_MODEL, DEMO_ROW

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
            *_demo_model_lines(host, port, key),
        ]
    lines += ["", f"metrics: http://{host}:{port}/metrics   health: http://{host}:{port}/readyz"]
    return "\n".join(lines)


def _demo_model_lines(host: str, port: int, key: str) -> list[str]:
    """The demo's predictive model on OIP v2, with a real row of its 30 features."""
    row = ", ".join(str(v) for v in DEMO_ROW)
    body = f'{{"inputs": [{{"name": "X", "datatype": "FP32", "shape": [1, 30], "data": [{row}]}}]}}'
    return [
        "",
        f"a predictive model, {DEMO_MODEL} (trained at the first start: ready once "
        f"http://{host}:{port}/v2/models/{DEMO_MODEL}/ready answers 200):",
        f"  curl -s http://{host}:{port}/v2/models/{DEMO_MODEL}/infer "
        f"-H 'authorization: Bearer {key}' -H 'content-type: application/json' -d '{body}'",
        "",
        "or with tritonclient (pip install 'tritonclient[http]'):",
        '  python3 -c "import numpy as np, tritonclient.http as t; '
        "x = t.InferInput('X', [1, 30], 'FP32'); "
        f"x.set_data_from_numpy(np.array([[{row}]], np.float32)); "
        f"print(t.InferenceServerClient('{host}:{port}').infer('{DEMO_MODEL}', [x], "
        f"headers={{'authorization': 'Bearer {key}'}}).as_numpy('label'))\"",
    ]


def serve(
    config: KeelConfig,
    host: str,
    port: int,
    workers: int = 1,
    background: Callable[[], None] | None = None,
) -> None:
    """Bind, print the banner and serve. ``background`` runs in a thread once the gateway
    accepts connections, so it does not delay the start; with several workers it runs first,
    before they are forked (a fork copies no running thread)."""
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
        _serve_one(config, sock, background)
        return
    if background is not None:
        background()
    print(f"keel: {workers} workers on one socket", file=sys.stderr, flush=True)
    raise SystemExit(run_workers(workers, sock, lambda s: _serve_one(config, s)))


class _Server(uvicorn.Server):
    """uvicorn's server, starting ``after_start`` in a thread once it accepts connections."""

    def __init__(self, config: uvicorn.Config, after_start: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.after_start = after_start

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.after_start is not None:
            threading.Thread(target=self.after_start, name="keel-after-start", daemon=True).start()


def _serve_one(
    config: KeelConfig, sock: socket.socket, after_start: Callable[[], None] | None = None
) -> None:
    app = create_app(config)
    server = _Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            timeout_graceful_shutdown=10,
        ),
        after_start,
    )
    server.run(sockets=[sock])
