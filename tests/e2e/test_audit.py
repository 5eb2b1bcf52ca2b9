"""The audit trail end to end: a real keel answers the openai SDK, `keel audit verify` passes,
`keel audit export` prints every record; checkpoints come while idle; a record changed in the
SQLite file is named by verify."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
import yaml

from keel.audit.canonical import canonical
from tests.e2e.procs import keel_cli, run_keel, sim_config

KEY = "sk-audit"
MESSAGES = [{"role": "user", "content": "Wie spät ist es?"}]


def config(**audit: Any) -> dict[str, Any]:
    return {**sim_config(KEY), "audit": audit}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("audit")
    with run_keel(tmp, config(checkpoint_s=0.2)) as (url, _, path):
        yield url, path


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)


def plain(url: str, **extra: Any) -> tuple[str, bytes]:
    """(request id, the body bytes the client got)."""
    with client(url) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(model="m", messages=MESSAGES, **extra)
        assert raw.parse().choices[0].message.content
        return raw.headers["x-request-id"], raw.content


def streamed(url: str) -> tuple[str, str]:
    """(request id, the text the client got)."""
    with client(url) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(
            model="m", messages=MESSAGES, stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
        return raw.headers["x-request-id"], text


def exported(path: Path, *args: str) -> dict[str, dict[str, Any]]:
    result = keel_cli("audit", "export", "--since", "1h", "--config", str(path), *args)
    return {r["request_id"]: r for r in map(orjson.loads, result.stdout.splitlines())}


def verify(path: Path) -> tuple[int, str]:
    result = keel_cli("audit", "verify", "--config", str(path), check=False)
    return result.returncode, result.stdout + result.stderr


def test_answers_are_audited_verified_and_exported(gateway: tuple[str, Path]) -> None:
    url, path = gateway
    plain_id, body = plain(url, user="alice@example.com")
    stream_id, text = streamed(url)
    wrong = openai.OpenAI(base_url=url + "/v1", api_key="sk-wrong", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError) as refused:
        wrong.chat.completions.create(model="m", messages=MESSAGES)
    refused_id = refused.value.response.headers["x-request-id"]
    code, report = verify(path)
    assert code == 0, report
    assert "keel audit: ok: 1 chain(s)" in report
    records = exported(path)
    one, two = records[plain_id], records[stream_id]
    prompt = hashlib.sha256(canonical(MESSAGES)).hexdigest()
    assert (one["team"], one["user"], one["model"], one["deployment"], one["region"]) == (
        "t", "alice@example.com", "m", "s", "local"
    )  # fmt: skip
    assert (one["decision"], one["stream"], one["prompt_sha256"]) == ("allowed", False, prompt)
    assert one["answer_sha256"] == hashlib.sha256(body).hexdigest()
    assert two["stream"] and two["answer_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert (records[refused_id]["decision"], records[refused_id]["team"]) == (
        "invalid_api_key", None
    )  # fmt: skip
    assert "Wie spät" not in str(records)  # hashes, not the texts
    assert two["seq"] == one["seq"] + 1 and two["prev"] == one["hash"]
    for line in records.values():  # each exported line checks on its own
        rest = {k: v for k, v in line.items() if k not in ("prev", "hash")}
        assert hashlib.sha256(line["prev"].encode() + canonical(rest)).hexdigest() == line["hash"]


def checkpoints(path: Path) -> int:
    with sqlite3.connect(path.parent / "keel.db") as conn:
        count: int = conn.execute("SELECT count(*) FROM audit_checkpoints").fetchone()[0]
        return count


def test_checkpoints_come_while_idle(gateway: tuple[str, Path]) -> None:
    _, path = gateway
    before = checkpoints(path)
    deadline = time.monotonic() + 10
    while checkpoints(path) < before + 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert checkpoints(path) >= before + 3, "no checkpoint was signed while idle"


def test_a_changed_record_is_named_by_verify(tmp_path: Path) -> None:
    with run_keel(tmp_path, config(), None, "--workers", "2") as (url, _, path):
        ids = [plain(url)[0] for _ in range(8)]
    code, report = verify(path)  # stopped cleanly: every record is signed at shutdown
    assert code == 0, report
    assert "keel audit: ok: 2 chain(s), 8 record(s) verified" in report
    assert "cannot be proven" not in report
    with sqlite3.connect(tmp_path / "keel.db") as conn:
        conn.execute(
            "UPDATE audit SET record = replace(record, '\"cost_usd\":0.0', '\"cost_usd\":0.01') "
            "WHERE record LIKE ?",
            (f'%"request_id":"{ids[5]}"%',),
        )
        (writer, seq) = conn.execute(
            "SELECT writer, seq FROM audit WHERE record LIKE ?", (f'%"request_id":"{ids[5]}"%',)
        ).fetchone()
    code, report = verify(path)
    assert code == 1
    assert f"BAD  {writer}: seq {seq}, request {ids[5]}: its hash does not match" in report
    mine = exported(path, "--writer", writer)
    assert ids[5] in mine and {r["writer"] for r in mine.values()} == {writer}
    refused = keel_cli("audit", "export", "--format", "csv", "--config", str(path), check=False)
    assert refused.returncode == 2 and "--format must be one of jsonl" in refused.stderr
    assert "keel audit: FAILED: 1 of 2 chain(s) broken" in report


def keygen(path: Path) -> tuple[str, str]:
    """A key made by `keel audit keygen --out`: (public key, key id) as it prints them."""
    made = keel_cli("audit", "keygen", "--out", str(path))
    assert made.stdout == "" and stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = dict(line.split(":", 1) for line in made.stderr.splitlines())
    return lines["public key"].strip(), lines["key id"].strip()


def test_a_rotated_key_keeps_old_checkpoints_verifiable(tmp_path: Path) -> None:
    old_public, old_id = keygen(tmp_path / "old.pem")
    keygen(tmp_path / "new.pem")
    before = config(signing_key=f"file:{tmp_path / 'old.pem'}")
    with run_keel(tmp_path, before) as (url, _, path):
        plain(url)
    after = config(signing_key=f"file:{tmp_path / 'new.pem'}", key_id="2027",
                   verify_keys={old_id: old_public})  # fmt: skip
    with run_keel(tmp_path, after) as (url, _, path):  # the same store, restarted
        plain(url)
    code, report = verify(path)
    assert code == 0, report
    assert "keel audit: ok: 2 chain(s), 2 record(s) verified" in report
    forgot = yaml.safe_load(path.read_text())  # the same config without the old public key
    del forgot["audit"]["verify_keys"]
    (tmp_path / "forgot.yaml").write_text(yaml.safe_dump(forgot))
    code, report = verify(tmp_path / "forgot.yaml")
    assert code == 1 and f"signed with key id '{old_id}', which is neither" in report


def test_an_edited_or_deleted_usage_row_is_named_by_verify(tmp_path: Path) -> None:
    with run_keel(tmp_path, config()) as (url, _, path):
        ids = [plain(url)[0] for _ in range(3)]
    code, report = verify(path)
    assert code == 0, report
    assert "3 usage row(s) match their audit records" in report
    with sqlite3.connect(tmp_path / "keel.db") as conn:  # reports and budgets read these
        conn.execute("UPDATE usage SET cost_usd = 0.5 WHERE request_id = ?", (ids[0],))
        conn.execute("DELETE FROM usage WHERE request_id = ?", (ids[1],))
    code, report = verify(path)
    assert code == 1, report
    assert f"request {ids[0]} (call): usage row seq" in report
    assert "cost_usd 0.5" in report
    assert f"request {ids[1]} (call): its audit record has no usage row" in report
    assert "keel audit: FAILED: 2 usage row(s) do not match the audit" in report


def test_a_deleted_writer_is_named_by_verify_with_the_witness(tmp_path: Path) -> None:
    witness = tmp_path / "elsewhere" / "witness.jsonl"
    witness.parent.mkdir()
    with run_keel(tmp_path, config(witness=str(witness)), None, "--workers", "2") as (url, _, path):
        for _ in range(4):
            plain(url)
    code, report = verify(path)
    assert code == 0, report
    assert f"keel audit: witness {witness}: the newest checkpoints of 2 writer(s) compared" in (
        report
    )
    assert stat.S_IMODE(witness.stat().st_mode) == 0o600
    with sqlite3.connect(tmp_path / "keel.db") as conn:
        (writer,) = conn.execute("SELECT max(writer) FROM audit_checkpoints").fetchone()
        conn.execute("DELETE FROM audit WHERE writer = ?", (writer,))
        conn.execute("DELETE FROM audit_checkpoints WHERE writer = ?", (writer,))
        conn.execute("DELETE FROM usage")  # its usage rows too, so only the audit can tell
    code, report = verify(path)
    assert code == 1, report
    assert f"BAD  {writer}: seq 0: the store holds no record or checkpoint of this writer" in (
        report
    )
    missing = keel_cli("audit", "verify", "--witness", str(tmp_path / "nope"), "--config",
                       str(path), check=False)  # fmt: skip
    assert missing.returncode == 2
    assert f"the witness file {tmp_path / 'nope'} cannot be read: No such file" in missing.stderr
