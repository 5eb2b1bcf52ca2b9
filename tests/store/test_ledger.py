"""Group commit: concurrent records share transactions, and nothing is lost or falsely confirmed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from keel.store.alerts import AlertRecord
from keel.store.audit import AuditRow, CheckpointRow
from keel.store.base import Rows, Store
from keel.store.drift import DriftRow
from keel.store.embeddings import EmbeddingCheck, EmbeddingPin, PromptVector
from keel.store.episodes import EpisodeRecord
from keel.store.feedback import FeedbackRecord
from keel.store.keys import KeyRecord
from keel.store.ledger import Ledger, RecordNotCommitted
from keel.store.models import AliasEvent, AliasMove, ModelAlias, ModelVersion
from keel.store.quality import CallOwner, FeedbackJoined, Labelled, LabelRecord, PredictionRow
from keel.store.responses import ItemPage, Order, StoredResponse
from keel.store.rollouts import RolloutChange, RolloutEvent, RolloutState
from keel.store.sql import SQLStore
from keel.store.usage import UsageGroup, UsageRecord
from tests.store.conftest import make_row


class BrokenStore(Store):
    """A store whose database refuses every write (a dependency failure, not keel's code)."""

    def __init__(self) -> None:
        self.writes = 0

    async def ping(self) -> None:
        raise ConnectionError("database is down")

    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        self.writes += 1
        raise ConnectionError("database is down")

    async def usage_by(self, column: str, since: float) -> list[UsageGroup]:
        raise ConnectionError("database is down")

    async def count_usage(self) -> int:
        raise ConnectionError("database is down")

    async def spent_between(self, column: str, value: str, since: float, until: float) -> float:
        raise ConnectionError("database is down")

    async def usage_rows(
        self, since: float, until: float, after_seq: int = 0, limit: int = 5000
    ) -> list[UsageRecord]:
        raise ConnectionError("database is down")

    async def stored_request_ids(
        self, request_ids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[float, str | None]]:
        raise ConnectionError("database is down")

    async def call_team(self, request_id: str) -> str | None:
        raise ConnectionError("database is down")

    async def open_episode(self, record: EpisodeRecord) -> tuple[EpisodeRecord, bool]:
        raise ConnectionError("database is down")

    async def close_episode(self, kind: str, subject: str, ts: float) -> EpisodeRecord | None:
        raise ConnectionError("database is down")

    async def episodes(self, since: float = 0.0, open_only: bool = False) -> list[EpisodeRecord]:
        raise ConnectionError("database is down")

    async def add_drift_rows(self, rows: Sequence[DriftRow]) -> None:
        raise ConnectionError("database is down")

    async def drift_window(
        self, model: str, version: int, since: float, limit: int
    ) -> list[DriftRow]:
        raise ConnectionError("database is down")

    async def drift_versions(self, since: float) -> list[tuple[str, int]]:
        raise ConnectionError("database is down")

    async def delete_drift_rows(self, before: float) -> int:
        raise ConnectionError("database is down")

    async def add_predictions(self, rows: Sequence[PredictionRow]) -> None:
        raise ConnectionError("database is down")

    async def add_labels(self, records: Sequence[LabelRecord]) -> int:
        raise ConnectionError("database is down")

    async def call_owners(self, request_ids: Sequence[str]) -> dict[str, CallOwner]:
        raise ConnectionError("database is down")

    async def labelled(self, model: str, since: float, limit: int = 200_000) -> list[Labelled]:
        raise ConnectionError("database is down")

    async def feedback_joined(
        self, model: str, since: float, limit: int = 200_000
    ) -> list[FeedbackJoined]:
        raise ConnectionError("database is down")

    async def delete_predictions(self, before: float) -> int:
        raise ConnectionError("database is down")

    async def usage_audit_rows(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        raise ConnectionError("database is down")

    async def add_alert(self, record: AlertRecord) -> int:
        raise ConnectionError("database is down")

    async def alerts_since(self, since: float, limit: int = 1000) -> list[AlertRecord]:
        raise ConnectionError("database is down")

    async def add_feedback(self, record: FeedbackRecord) -> int:
        raise ConnectionError("database is down")

    async def feedback_since(self, since: float) -> list[FeedbackRecord]:
        raise ConnectionError("database is down")

    async def add_key(self, record: KeyRecord, key_hash: str) -> None:
        raise ConnectionError("database is down")

    async def find_key(self, key_hash: str) -> KeyRecord | None:
        raise ConnectionError("database is down")

    async def list_keys(self, team: str | None = None) -> list[KeyRecord]:
        raise ConnectionError("database is down")

    async def revoke_key(self, key_id: str, when: float) -> bool:
        raise ConnectionError("database is down")

    async def rollouts(self) -> list[RolloutState]:
        raise ConnectionError("database is down")

    async def change_rollout(self, change: RolloutChange) -> RolloutState | None:
        raise ConnectionError("database is down")

    async def rollout_events(self, model: str | None = None, limit: int = 10) -> list[RolloutEvent]:
        raise ConnectionError("database is down")

    async def call_attempts(
        self, model: str, since: float, limit: int
    ) -> list[list[dict[str, Any]]]:
        raise ConnectionError("database is down")

    async def audit_head(self, writer: str) -> AuditRow | None:
        raise ConnectionError("database is down")

    async def audit_writers(self) -> list[str]:
        raise ConnectionError("database is down")

    async def audit_records(self, writer: str, after_seq: int, limit: int) -> list[AuditRow]:
        raise ConnectionError("database is down")

    async def audit_checkpoints(self, writer: str) -> list[CheckpointRow]:
        raise ConnectionError("database is down")

    async def audit_latest_checkpoints(self, since: float, limit: int) -> list[CheckpointRow]:
        raise ConnectionError("database is down")

    async def audit_since(
        self, since: float, writer: str | None, after: AuditRow | None, limit: int
    ) -> list[AuditRow]:
        raise ConnectionError("database is down")

    async def add_model_version(self, record: ModelVersion) -> ModelVersion:
        raise ConnectionError("database is down")

    async def model_versions(self, name: str | None = None) -> list[ModelVersion]:
        raise ConnectionError("database is down")

    async def model_version(self, name: str, version: int) -> ModelVersion | None:
        raise ConnectionError("database is down")

    async def archive_model_version(self, name: str, version: int, when: float) -> bool:
        raise ConnectionError("database is down")

    async def model_aliases(self, name: str | None = None) -> list[ModelAlias]:
        raise ConnectionError("database is down")

    async def move_model_alias(self, move: AliasMove) -> AliasEvent:
        raise ConnectionError("database is down")

    async def model_alias_events(self, name: str | None = None) -> list[AliasEvent]:
        raise ConnectionError("database is down")

    async def save_response(self, record: StoredResponse) -> None:
        raise ConnectionError("database is down")

    async def get_response(self, team: str, response_id: str) -> StoredResponse | None:
        raise ConnectionError("database is down")

    async def delete_response(self, team: str, response_id: str) -> bool:
        raise ConnectionError("database is down")

    async def response_chain(self, team: str, response_id: str, limit: int) -> list[dict[str, Any]]:
        raise ConnectionError("database is down")

    async def response_input_items(
        self, team: str, response_id: str, after: str | None, limit: int, order: Order
    ) -> ItemPage | None:
        raise ConnectionError("database is down")

    async def add_prompt_vectors(self, rows: Sequence[PromptVector]) -> None:
        raise ConnectionError("database is down")

    async def latest_prompt_vectors(
        self, model: str, after: float, limit: int, arm: str | None = None
    ) -> list[PromptVector]:
        raise ConnectionError("database is down")

    async def sample_prompt_vectors(
        self, model: str, since: float, until: float, limit: int, seed: int
    ) -> list[PromptVector]:
        raise ConnectionError("database is down")

    async def delete_prompt_vectors(self, before: float) -> int:
        raise ConnectionError("database is down")

    async def add_embedding_pin(self, pin: EmbeddingPin) -> EmbeddingPin:
        raise ConnectionError("database is down")

    async def embedding_pins(self) -> list[EmbeddingPin]:
        raise ConnectionError("database is down")

    async def add_embedding_check(self, check: EmbeddingCheck) -> None:
        raise ConnectionError("database is down")

    async def embedding_checks(self, model: str, limit: int = 10) -> list[EmbeddingCheck]:
        raise ConnectionError("database is down")


class FlakyStore(SQLStore):
    """A real SQL store whose database drops the first ``failures`` writes."""

    def __init__(self, inner: SQLStore, failures: int) -> None:
        super().__init__(inner.engine)
        self.failures = failures

    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("connection reset by peer")
        await super().write(usage, audit, checkpoints, responses)


async def test_concurrent_records_share_transactions(store: SQLStore) -> None:
    ledger = Ledger(store)
    await ledger.start()
    try:
        await asyncio.gather(*(ledger.record(make_row()) for _ in range(200)))
        assert await store.count_usage() == 200  # every record() that returned is committed
        assert 1 <= ledger.commits <= 20, f"{ledger.commits} transactions for 200 records"
    finally:
        await ledger.close()


async def test_a_transaction_carries_at_most_batch_max(store: SQLStore) -> None:
    ledger = Ledger(store, batch_max=50)
    await ledger.start()
    try:
        await asyncio.gather(*(ledger.record(make_row()) for _ in range(200)))
    finally:
        await ledger.close()
    assert await store.count_usage() == 200
    assert 4 <= ledger.commits < 200


async def test_close_commits_what_is_queued(store: SQLStore) -> None:
    ledger = Ledger(store)
    await ledger.start()
    futures = [ledger.submit(make_row(request_id=f"queued-{i}")) for i in range(37)]
    await ledger.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert await store.count_usage() == 37


async def test_a_caller_going_away_does_not_cancel_its_commit(store: SQLStore) -> None:
    ledger = Ledger(store)
    await ledger.start()
    task = asyncio.create_task(ledger.record(make_row()))
    await asyncio.sleep(0)  # the record is queued
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await ledger.close()
    assert await store.count_usage() == 1


async def test_a_failing_store_means_not_committed() -> None:
    broken = BrokenStore()
    ledger = Ledger(broken, attempts=3)
    await ledger.start()
    try:
        with pytest.raises(RecordNotCommitted, match="database is down"):
            await ledger.record(make_row())
        assert broken.writes == 3  # retried, then refused
        assert ledger.commits == 0
        results = await asyncio.gather(
            *(ledger.record(make_row()) for _ in range(10)), return_exceptions=True
        )
        assert all(isinstance(r, RecordNotCommitted) for r in results), results
    finally:
        await ledger.close()


async def test_a_passing_failure_is_retried_and_committed(store: SQLStore) -> None:
    flaky = FlakyStore(store, failures=2)
    ledger = Ledger(flaky, attempts=3)
    await ledger.start()
    try:
        await asyncio.gather(*(ledger.record(make_row()) for _ in range(5)))
    finally:
        await ledger.close()
    assert await store.count_usage() == 5
    assert ledger.commits >= 1


async def test_the_ledger_keeps_working_after_a_failed_batch(store: SQLStore) -> None:
    flaky = FlakyStore(store, failures=3)
    ledger = Ledger(flaky, attempts=3)
    await ledger.start()
    try:
        with pytest.raises(RecordNotCommitted):
            await ledger.record(make_row(request_id="lost"))
        await ledger.record(make_row(request_id="kept"))
    finally:
        await ledger.close()
    assert await store.count_usage() == 1
