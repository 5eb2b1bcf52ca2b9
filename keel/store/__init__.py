"""Records: usage, audit, API keys, rollouts, alerts and alert episodes, feedback, models,
stored responses, the prediction log with its labels, drift windows and prompt embeddings
(keel.store.base). The store URL's scheme picks the backend: keel.store.sqlite or
keel.store.postgres."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from keel.store.base import Store

__all__ = ["open_store", "opened_store"]


def open_store(url: str) -> Store:
    """The store for a URL: ``sqlite:///path`` or ``postgresql://user@host/db``."""
    if url.startswith("sqlite://"):
        from keel.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        from keel.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"unsupported store url {url!r}: use sqlite:/// or postgresql://")


@contextlib.asynccontextmanager
async def opened_store(url: str) -> AsyncIterator[Store]:
    """A started store for one command-line action, closed after it."""
    store = open_store(url)
    await store.start()
    try:
        yield store
    finally:
        await store.close()
