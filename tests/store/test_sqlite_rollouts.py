"""On SQLite, a gateway's rollout write must not lock out its own inline usage commits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from keel.store.rollouts import RolloutChange, RolloutState
from keel.store.sqlite import SQLiteStore
from tests.store.conftest import make_row


async def test_rollout_changes_and_inline_usage_commits_interleave(tmp_path: Path) -> None:
    # Through aiosqlite, a change's statements each wait for the event loop, while the loop
    # commits small usage batches inline and waits for the change's lock: stuck until
    # busy_timeout, then a usage record fails. Here every record must commit.
    store = SQLiteStore(f"sqlite:///{tmp_path / 'keel.db'}")
    await store.start()
    before: RolloutState | None = None

    async def changes() -> None:
        nonlocal before
        for i in range(20):
            after = RolloutState("chat", "canary", "v2", float(i))
            before = await store.change_rollout(RolloutChange(before, after, "set", "t", "",
                                                              time.time()))  # fmt: skip
            await asyncio.sleep(0)

    async def usage() -> None:
        for _ in range(200):
            await store.write_usage([make_row()])  # one row: committed on the loop itself
            await asyncio.sleep(0)

    try:
        await asyncio.gather(changes(), usage())
        assert await store.count_usage() == 200
        assert before is not None and before.version == 20
    finally:
        await store.close()
