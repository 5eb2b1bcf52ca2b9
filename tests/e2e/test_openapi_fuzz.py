"""schemathesis against a real keel's own GET /openapi.json, on SQLite and on PostgreSQL: no
request it generates, valid or not, gets a 5xx; every answer is as the document says (status,
media type, body, headers); and every answer on the traffic routes has its usage record.

Bounded: a fixed number of examples per operation and generation mode, derandomized, so a run
is the same each time and takes well under two minutes on a loaded machine.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode, Response
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from keel.gateway.openapi import OPERATIONS
from tests.e2e.procs import keel_cli, run_keel, sim_config
from tests.registry.conftest import fitted, models_dir
from tests.store.conftest import fresh_pg_database

__all__ = ["fitted", "models_dir"]  # the registry's model fixtures

KEY = "sk-team-fuzz-0123456789abcdef0123"
ADMIN = "sk-admin-fuzz-0123456789abcdef012"
EXAMPLES = 25
TRAFFIC = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages"}
# Generated names almost never exist, so most requests would stop at 404. The "served" runs pin
# the fields that name configured things, to drive requests through to the deployment and store.
SERVED = {"model": "m", "team": "t"}
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass
class Keel:
    url: str
    schema: Any
    usage_ids: Callable[[], set[str]]  # the request id of every usage record in the store
    session: requests.Session = field(default_factory=requests.Session)


@contextmanager
def store(kind: str, tmp: Path) -> Iterator[tuple[str, Callable[[], set[str]]]]:
    """A store for one keel: its URL and how to read the request ids it recorded."""
    if kind == "sqlite":
        path = tmp / "keel.db"

        def sqlite_ids() -> set[str]:
            with sqlite3.connect(path) as conn:
                return {row[0] for row in conn.execute("SELECT request_id FROM usage")}

        yield f"sqlite:///{path}", sqlite_ids
        return
    # PostgreSQL refuses what SQLite lets by (NUL in text, over-long values): fuzz both.
    loop = asyncio.new_event_loop()
    database = fresh_pg_database()
    url = loop.run_until_complete(database.__aenter__())

    async def read() -> set[str]:
        conn = await asyncpg.connect(url)
        try:
            return {row[0] for row in await conn.fetch("SELECT request_id FROM usage")}
        finally:
            await conn.close()

    try:
        yield url, lambda: loop.run_until_complete(read())
    finally:
        loop.run_until_complete(database.__aexit__(None, None, None))
        loop.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def keel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, models_dir: Path
) -> Iterator[Keel]:
    tmp = tmp_path_factory.mktemp("fuzz")
    config = sim_config(KEY, output_tokens=8)
    config["auth"] = {"admin_keys": [ADMIN]}
    config["limits"] = {"max_tokens": 64, "max_messages": 16}
    with store(request.param, tmp) as (url, usage_ids):
        config["store"] = {"url": url}
        with run_keel(tmp, config) as (base, _, path):
            # A registered model "m" (the document's example name) for the /admin/models routes.
            keel_cli("models", "register", "m", str(models_dir / "model.onnx"), "-c", str(path))
            schema = schemathesis.openapi.from_url(base + "/openapi.json")
            found = Keel(base, schema, usage_ids)
            yield found
            found.session.close()


def auth(path: str) -> dict[str, str]:
    key = ADMIN if path.startswith("/admin") else KEY
    return {"authorization": f"Bearer {key}"}


@dataclass
class Run:
    answers: list[Response] = field(default_factory=list)
    unlike_the_document: list[str] = field(default_factory=list)


def fuzz(keel: Keel, method: str, path: str, mode: GenerationMode, served: bool = False) -> Run:
    """Send ``EXAMPLES`` generated requests to one operation; every answer, in order, and
    each answer that is not as the document says (status, media type, body, headers)."""
    operation = keel.schema[path][method]
    run = Run()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Case) -> None:
        if served and isinstance(case.body, dict):
            case.body.update((k, v) for k, v in SERVED.items() if k in case.body)
        if served and case.headers:  # no data classes are configured: any name is refused
            case.headers.pop("x-keel-data-class", None)
        answer = case.call(base_url=keel.url, session=keel.session, headers=auth(path), timeout=60)
        run.answers.append(answer)
        if answer.status_code < 500:  # a 5xx is reported as such
            try:
                case.validate_response(answer, checks=CONFORMANCE)
            except (AssertionError, FailureGroup) as exc:  # how schemathesis reports them
                run.unlike_the_document.append(f"{show(answer)}\n  {exc}")

    send()
    return run


def missing_records(keel: Keel, wanted: set[str], timeout: float = 60.0) -> set[str]:
    """The ids in ``wanted`` with no usage record once the ledger has had time to commit."""
    deadline = time.monotonic() + timeout
    while (missing := wanted - keel.usage_ids()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return missing


def asked_too_little(answer: Response) -> bool:
    """A 504 is the documented answer to an x-keel-timeout shorter than a deployment takes;
    the sim answers in milliseconds, so only deadlines under a second may end that way."""
    asked = answer.request.headers.get("x-keel-timeout")
    if answer.status_code != 504 or asked is None:
        return False
    code = answer.json()["error"]["code"]
    return code == "upstream_timeout" and float(asked) < 1.0


def show(answer: Response) -> str:
    sent = answer.request
    body = sent.body if isinstance(sent.body, str | None) else sent.body.decode(errors="replace")
    return (
        f"{sent.method} {sent.path_url} {(body or '')[:300]!r} -> {answer.status_code} "
        + (answer.text[:300])
    )


def runs() -> Iterator[Any]:
    """Each operation as generated; those with a body also with the names pinned ("served");
    and those with a body or parameters also with invalid ones (negative)."""
    for op in OPERATIONS:
        name = f"{op.method} {op.path}"
        yield pytest.param(op, GenerationMode.POSITIVE, False, id=f"{name} positive")
        if op.body is not None:
            yield pytest.param(op, GenerationMode.POSITIVE, True, id=f"{name} served")
        if op.body is not None or op.params:
            yield pytest.param(op, GenerationMode.NEGATIVE, False, id=f"{name} negative")


@pytest.mark.parametrize(("op", "mode", "served"), list(runs()))
def test_no_generated_request_gets_a_5xx(
    keel: Keel, op: Any, mode: GenerationMode, served: bool
) -> None:
    run = fuzz(keel, op.method, op.path, mode, served)
    answers = run.answers
    assert answers, "schemathesis generated no request"
    failed = [show(a) for a in answers if a.status_code >= 500 and not asked_too_little(a)]
    assert failed == [], "\n".join(failed)
    assert run.unlike_the_document == [], "\n".join(run.unlike_the_document)
    if op.path in TRAFFIC:
        ids = {a.headers.get("x-request-id", [""])[0] for a in answers}
        assert "" not in ids, "an answer without x-request-id"
        assert missing_records(keel, ids) == set()
