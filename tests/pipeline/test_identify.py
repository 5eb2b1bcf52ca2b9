"""The identify stage: a key becomes a principal once per call, even when an edge (a chained
Responses request) had the stage identify it before the pipeline ran."""

from __future__ import annotations

import time

import pytest

from keel.call import Call
from keel.config.schema import KeelConfig
from keel.errors import AuthenticationError
from keel.pipeline.identify import Identify
from keel.store.keys import KeyRecord, KeyStore


class CountingKeys(KeyStore):
    """One stored key; counts the look-ups."""

    def __init__(self, record: KeyRecord | None) -> None:
        self.record = record
        self.lookups = 0

    async def add_key(self, record: KeyRecord, key_hash: str) -> None:
        raise AssertionError("not called")

    async def find_key(self, key_hash: str) -> KeyRecord | None:
        self.lookups += 1
        return self.record

    async def list_keys(
        self, team: str | None = None, project: str | None = None
    ) -> list[KeyRecord]:
        return []

    async def revoke_key(self, key_id: str, when: float) -> bool:
        return False


def _config() -> KeelConfig:
    return KeelConfig.model_validate({"teams": {"alpha": {"api_keys": ["sk-config-alpha"]}}})


def _call(credential: str) -> Call:
    call = Call(id="r", endpoint="responses", body={}, model="m", stream=False)
    call.credential = credential
    return call


async def test_a_call_identified_at_its_edge_is_not_identified_again() -> None:
    record = KeyRecord("key_1", "alpha", "k", "sk-keel-ab", time.time(), None, None)
    keys = CountingKeys(record)
    identify = Identify(_config(), keys, cache_ttl_s=0.0)  # no cache: every pass looks it up
    call = _call("sk-keel-stored")
    await identify.before(call)  # the edge, reading a chain
    principal = call.principal
    await identify.before(call)  # the pipeline's stage
    assert keys.lookups == 1
    assert call.principal is principal and principal is not None and principal.team == "alpha"


async def test_a_bad_key_is_still_refused() -> None:
    identify = Identify(_config(), CountingKeys(None))
    with pytest.raises(AuthenticationError):
        await identify.before(_call("sk-wrong"))
    call = _call("sk-config-alpha")
    await identify.before(call)
    assert call.principal is not None and call.principal.key_id == "config:alpha:1"
