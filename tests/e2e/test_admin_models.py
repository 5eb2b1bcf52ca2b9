"""The model registry over the admin API, against a real keel: a model registered over HTTP
is served on /v2 at once; alias moves are atomic and recorded with the admin as who; archive;
every refusal has its status and says what to do; predictive.artifact_root is honoured by the
gateway and by ``keel models`` alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import load_breast_cancer

from tests.e2e.procs import keel_cli, run_keel, sim_config
from tests.registry.conftest import fitted, models_dir

__all__ = ["fitted", "models_dir"]  # the registry's model fixtures

KEY, ADMIN = "sk-team-models", "sk-admin-models"
LIMIT = 200_000  # predictive.max_artifact_bytes: the test models are a few kilobytes


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("admin-models")
    config = sim_config(KEY)
    config["auth"] = {"admin_keys": [ADMIN]}
    config["predictive"] = {
        "artifact_root": str(tmp / "shared" / "artifacts"),
        "max_artifact_bytes": LIMIT,
        # Far longer than any test waits: only the admin route's own wake-up can explain a
        # move being served in time (see the alias test below).
        "refresh_s": 600,
    }
    with run_keel(tmp, config) as (url, _, path):
        yield url, path


@pytest.fixture
def admin(keel: tuple[str, Path]) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=keel[0], headers=headers, timeout=60) as http:
        yield http


def register(admin: httpx.Client, name: str, body: bytes, **query: Any) -> httpx.Response:
    return admin.post(
        f"/admin/models/{name}/versions",
        content=body,
        params=query,
        headers={"content-type": "application/octet-stream"},
    )


def two_versions(admin: httpx.Client, name: str, models_dir: Path, **query: Any) -> None:
    """Register model.onnx twice over HTTP: versions 1 and 2 of ``name``."""
    onnx = (models_dir / "model.onnx").read_bytes()
    for _ in range(2):
        assert register(admin, name, onnx, **query).status_code == 201


def infer(url: str, model: str, x: np.ndarray[Any, Any], name: str = "X") -> httpx.Response:
    datatype = "FP32" if x.dtype == np.float32 else "FP64"
    body = {
        "inputs": [
            {"name": name, "datatype": datatype, "shape": list(x.shape), "data": x.ravel().tolist()}
        ]
    }
    return httpx.post(
        f"{url}/v2/models/{model}/infer",
        json=body,
        timeout=60,
        headers={"authorization": f"Bearer {KEY}"},
    )


def error(answer: httpx.Response) -> tuple[int, str, str]:
    detail = answer.json()["error"]
    return answer.status_code, detail["code"], detail["message"]


def test_a_model_registered_over_http_is_served_on_v2(
    keel: tuple[str, Path], admin: httpx.Client, models_dir: Path
) -> None:
    url, path = keel
    onnx = (models_dir / "model.onnx").read_bytes()
    made = register(
        admin,
        "fraud",
        onnx,
        description="first",
        tag=["team=risk", "stage=dev"],
        metrics='{"auc": 0.97}',
        code_version="abc123",
    )
    assert made.status_code == 201, made.text
    record = made.json()
    assert (record["name"], record["version"], record["format"]) == ("fraud", 1, "onnx")
    assert record["creator"] == "admin:1" and record["metrics"] == {"auc": 0.97}
    assert record["tags"] == {"team": "risk", "stage": "dev"} and record["code_version"] == "abc123"
    assert record["signature"]["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 30]}]
    stored = path.parent / "shared" / "artifacts" / record["sha256"][:2] / record["sha256"]
    assert stored.read_bytes() == onnx  # in predictive.artifact_root
    assert list((path.parent / "shared" / "artifacts" / ".uploads").iterdir()) == []

    x = load_breast_cancer().data[:3].astype(np.float32)
    answer = infer(url, "fraud", x)
    assert answer.status_code == 200, answer.text
    session = ort.InferenceSession(str(models_dir / "model.onnx"))
    (label,) = [o for o in answer.json()["outputs"] if o["name"] == "label"]
    assert label["data"] == session.run(["label"], {"X": x})[0].tolist()

    skops = register(admin, "fraud", (models_dir / "model.skops").read_bytes())  # sniffed: a zip
    assert skops.status_code == 201 and skops.json()["format"] == "skops", skops.text
    assert skops.json()["version"] == 2
    rows = load_breast_cancer().data[:2]
    assert infer(url, "fraud/versions/2", rows, "input").json()["model_version"] == "2"

    listed = admin.get("/admin/models").json()["data"]
    assert {
        "name": "fraud",
        "versions": [1, 2],
        "archived": [],
        "latest": 2,
        "aliases": {},
    } in listed
    shown = admin.get("/admin/models/fraud").json()
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["versions"][0]["description"] == "first"
    assert shown["versions"][0]["training"] is None  # training data: keel models register


def test_alias_moves_show_in_lineage_with_the_admin_as_who(
    keel: tuple[str, Path], admin: httpx.Client, models_dir: Path
) -> None:
    url, path = keel
    two_versions(admin, "churn", models_dir)
    first = admin.post("/admin/models/churn/aliases/champion", json={"version": 1, "why": "v1"})
    assert first.status_code == 200, first.text
    assert (first.json()["before"], first.json()["after"], first.json()["who"]) == (
        None,
        1,
        "admin:1",
    )
    moved = admin.post("/admin/models/churn/aliases/champion", json={"version": 2, "why": "auc"})
    assert (moved.json()["before"], moved.json()["after"]) == (1, 2)
    x = load_breast_cancer().data[:1].astype(np.float32)
    assert infer(url, "churn", x).json()["model_version"] == "2"  # the champion

    lineage = admin.get("/admin/models/churn/lineage").json()
    assert lineage["aliases"] == {"champion": 2}
    assert [
        (e["alias"], e["before"], e["after"], e["who"], e["why"]) for e in lineage["events"]
    ] == [
        ("champion", None, 1, "admin:1", "v1"),
        ("champion", 1, 2, "admin:1", "auc"),
    ]
    assert all(e["ts"] > 0 for e in lineage["events"])
    printed = keel_cli("models", "lineage", "churn", "--config", str(path)).stdout
    assert "champion 1 -> 2 by admin:1: auc" in printed  # the CLI reads the same records


def test_an_alias_moved_through_the_admin_api_is_served_by_that_gateway_at_once(
    keel: tuple[str, Path], admin: httpx.Client, models_dir: Path
) -> None:
    two_versions(admin, "moved", models_dir)
    x = load_breast_cancer().data[:1].astype(np.float32)
    move = {"version": 1, "why": "first"}
    assert admin.post("/admin/models/moved/aliases/champion", json=move).status_code == 200
    assert infer(keel[0], "moved", x).json()["model_version"] == "1"

    move = {"version": 2, "why": "second"}
    assert admin.post("/admin/models/moved/aliases/champion", json=move).status_code == 200
    deadline = time.monotonic() + 60  # the new version is loaded before it takes traffic
    while infer(keel[0], "moved", x).json()["model_version"] != "2":
        assert time.monotonic() < deadline, "the move was not followed"
        time.sleep(0.05)


def test_archive_refuses_a_named_version_then_archives(
    keel: tuple[str, Path], admin: httpx.Client, models_dir: Path
) -> None:
    url, _ = keel
    two_versions(admin, "old", models_dir)
    admin.post("/admin/models/old/aliases/champion", json={"version": 1})
    refused = admin.post("/admin/models/old/versions/1/archive")
    assert error(refused) == (
        409,
        "conflict",
        "old:1 is named by champion: move it to another version first.",
    )
    admin.post("/admin/models/old/aliases/champion", json={"version": 2})
    archived = admin.post("/admin/models/old/versions/1/archive")
    assert archived.status_code == 200 and archived.json()["archived_at"] is not None
    again = admin.post("/admin/models/old/aliases/challenger", json={"version": 1})
    assert error(again)[:2] == (409, "conflict") and "archived" in error(again)[2]
    x = load_breast_cancer().data[:1].astype(np.float32)
    assert infer(url, "old/versions/1", x).status_code == 404  # no longer served
    listed = admin.get("/admin/models").json()["data"]
    assert next(m for m in listed if m["name"] == "old")["archived"] == [1]


@pytest.mark.parametrize(
    ("artifact", "query", "status", "code", "words"),
    [
        ("model.pkl", {}, 400, "unsafe_artifact", "loading a pickle runs whatever code"),
        ("model.pkl", {"format": "pickle"}, 400, "unsafe_artifact", "keel models register"),
        ("model.onnx", {"format": "pt"}, 400, "unsupported_artifact", "Unknown model format"),
        (b"not a model", {}, 400, "unsupported_artifact", "Send the bytes of an .onnx"),
        (b"", {}, 400, "invalid_request", "The body is empty"),
        (b"x" * (LIMIT + 1), {}, 413, "request_too_large", "predictive.max_artifact_bytes"),
        ("model.onnx", {"tag": "nokey"}, 400, "invalid_request", "give k=v"),
        ("model.onnx", {"metrics": "[1]"}, 400, "invalid_request", "give a JSON object"),
        ("model.onnx", {"trusted": "true"}, 400, "invalid_request", "Unknown query parameter"),
    ],
)
def test_a_refused_registration_says_why_and_stores_nothing(
    keel: tuple[str, Path],
    admin: httpx.Client,
    models_dir: Path,
    artifact: str | bytes,
    query: dict[str, str],
    status: int,
    code: str,
    words: str,
) -> None:
    body = (models_dir / artifact).read_bytes() if isinstance(artifact, str) else artifact
    answer = register(admin, "refused", body, **query)
    assert error(answer)[:2] == (status, code), answer.text
    assert words in error(answer)[2]
    assert "/.uploads/" not in error(answer)[2]  # the staging file means nothing to the sender
    assert admin.get("/admin/models/refused").status_code == 404
    uploads = keel[1].parent / "shared" / "artifacts" / ".uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("GET", "/admin/models/ghost", None, 404, "no model named 'ghost'"),
        ("GET", "/admin/models/ghost/lineage", None, 404, "no model named 'ghost'"),
        ("GET", "/admin/models/bad@name", None, 400, "model name 'bad@name'"),
        ("POST", "/admin/models/fraud/versions/9/archive", None, 404, "no version 9"),
        ("POST", "/admin/models/fraud/versions/x/archive", None, 400, "not a version number"),
        ("POST", "/admin/models/fraud/aliases/champion", {"version": 9}, 404, "no version 9"),
        ("POST", "/admin/models/fraud/aliases/champion", {"why": "x"}, 400, "'version' is"),
        ("POST", "/admin/models/fraud/aliases/champion", {"version": True}, 400, "'version' is"),
        (
            "POST",
            "/admin/models/fraud/aliases/champion",
            {"version": 1, "who": "me"},
            400,
            "Send a JSON object",
        ),
        ("POST", "/admin/models/fraud/aliases/7", {"version": 1}, 400, "all digits"),
        (
            "POST",
            "/admin/models/fraud/aliases/champion",
            {"version": 1, "why": "a\u0000"},
            400,
            "NUL",
        ),
    ],
)
def test_a_refused_request_has_its_status_and_says_what_to_do(
    admin: httpx.Client, method: str, path: str, body: Any, status: int, words: str
) -> None:
    answer = admin.request(method, path, content=None if body is None else json.dumps(body))
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]["message"]


def test_without_an_admin_key_the_registry_refuses(keel: tuple[str, Path]) -> None:
    url, _ = keel
    assert httpx.get(url + "/admin/models").status_code == 401
    team = {"authorization": f"Bearer {KEY}"}
    assert (
        httpx.post(url + "/admin/models/x/versions", content=b"x", headers=team).status_code == 401
    )


def test_the_cli_stores_in_the_configured_artifact_root_too(
    keel: tuple[str, Path], admin: httpx.Client, models_dir: Path
) -> None:
    url, path = keel
    out = keel_cli(
        "models", "register", "cli", str(models_dir / "mlflow-onnx"), "--config", str(path)
    ).stdout
    assert out.startswith("cli:1 registered (mlflow+onnx, ")
    sha = admin.get("/admin/models/cli").json()["versions"][0]["sha256"]
    assert (path.parent / "shared" / "artifacts" / sha[:2] / sha / "MLmodel").is_file()
    x = load_breast_cancer().data[:1].astype(np.float32)
    assert infer(url, "cli", x).status_code == 200


def test_registry_actions_are_audited(keel: tuple[str, Path], admin: httpx.Client) -> None:
    admin.get("/admin/models/ghost")
    exported = keel_cli("audit", "export", "--since", "1h", "--config", str(keel[1])).stdout
    actions = [json.loads(line) for line in exported.splitlines()]
    admin_actions = [a for a in actions if a.get("kind") == "admin"]
    registered = [a for a in admin_actions if a["action"] == "register_model_version"]
    assert any(
        a["outcome"] == "done" and a["admin"] == "admin:1" and a["sha256"] for a in registered
    )
    assert ("show_model", "model_not_found") in {(a["action"], a["outcome"]) for a in admin_actions}


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEL_ADMIN_KEY": ADMIN}
    command = [sys.executable, "-m", "keel", "models", *args, "--server", url]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def test_the_model_commands_act_through_a_running_gateway(
    keel: tuple[str, Path], admin: httpx.Client, models_dir: Path
) -> None:
    url, _ = keel
    two_versions(admin, "remote", models_dir, description="over http")
    moved = cli(url, "alias", "remote", "champion", "2", "--why", "from the cli")
    assert moved.returncode == 0 and moved.stdout == "remote@champion -> 2 (new)\n", moved.stderr
    shown = json.loads(cli(url, "show", "remote@champion").stdout)
    assert (shown["version"], shown["aliases"], shown["description"]) == (
        2,
        ["champion"],
        "over http",
    )
    assert json.loads(cli(url, "show", "remote:1").stdout)["version"] == 1
    assert "champion new -> 2 by admin:1: from the cli" in cli(url, "lineage", "remote").stdout
    listed = cli(url, "list").stdout
    assert "remote" in listed and "champion=2" in listed
    for args, words in (
        (("show", "ghost"), "no model named 'ghost'"),
        (("show", "remote@nope"), "no alias 'nope'"),
        (("alias", "remote", "champion", "9"), "no version 9"),
    ):
        refused = cli(url, *args)
        assert refused.returncode == 2 and words in refused.stderr, refused.stderr
    archived = cli(url, "archive", "remote", "1")
    assert archived.returncode == 0 and archived.stdout == "remote:1 archived\n", archived.stderr
    refused = cli(url, "archive", "remote", "2")
    assert refused.returncode == 2 and "named by champion" in refused.stderr
