"""The demo's predictive model: at the demo's first start, ``demo-classifier`` is trained
(``keel.registry.demo``), registered as ``keel models register`` does (artifact, training
statistics, metrics) and named ``champion`` as ``keel models alias`` does.

It happens once per store: a later start finds the champion and does nothing; a start that
stopped half way (a version registered, no alias yet) is completed without a second version.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from keel.commands.models import alias, register
from keel.config.schema import KeelConfig
from keel.registry.demo import DEMO_MODEL, build
from keel.store import opened_store

__all__ = ["CHAMPION", "ensure_demo_model"]

CHAMPION = "champion"
_DESCRIPTION = "keel's demo: logistic regression on scikit-learn's breast cancer dataset"


async def ensure_demo_model(config: KeelConfig) -> str:
    """Make sure ``demo-classifier`` has a champion; say what was done."""
    started = time.perf_counter()
    async with opened_store(config.store.url) as store:
        live = [v.version for v in await store.model_versions(DEMO_MODEL) if v.archived_at is None]
        champion = {a.alias: a.version for a in await store.model_aliases(DEMO_MODEL)}.get(CHAMPION)
    if champion is not None:
        return f"{DEMO_MODEL} is registered (version {champion}, {CHAMPION})"
    done = "named"
    if not live:
        live.append(await _train_and_register(config))
        done = "trained, registered and named"
    await alias(config, DEMO_MODEL, CHAMPION, max(live), why="the demo's first start")
    elapsed = time.perf_counter() - started
    return f"{DEMO_MODEL} {done} {CHAMPION} (version {max(live)}) in {elapsed:.1f} s"


async def _train_and_register(config: KeelConfig) -> int:
    with tempfile.TemporaryDirectory(prefix="keel-demo-") as tmp:
        files = await asyncio.to_thread(build, Path(tmp))
        record = await register(
            config,
            DEMO_MODEL,
            files.model,
            metrics=files.metrics,
            train_data=files.train_data,
            tags={"source": "keel demo"},
            description=_DESCRIPTION,
        )
    return record.version
