"""The store backends (a fresh SQLite file, a fresh PostgreSQL database) for report tests."""

from tests.store.conftest import store, store_url

__all__ = ["store", "store_url"]
