"""The state contract, on memory:// and on a real Redis, with the clock in the test's hands."""

from __future__ import annotations

import asyncio
import time

from keel.state import Hold, Settle, StateBackend
from keel.state.base import NEVER, UNLIMITED

# Now, in ms: every test moves its own clock from here. (Redis expires keys on its own
# clock, so counters must end in the real future.)
T0 = int(time.time()) * 1000


def rpm(prefix: str, limit: int) -> Hold:
    return Hold("window", f"{prefix}:rpm", limit, 1, 60_000)


async def test_window_admits_up_to_its_limit_and_frees_exactly_a_window_later(
    state: StateBackend, prefix: str
) -> None:
    for i, at in enumerate((0, 10_000, 20_000)):
        verdict = await state.admit([rpm(prefix, 3)], f"t{i}", T0 + at)
        assert verdict.admitted and verdict.levels == [i + 1]
    refused = await state.admit([rpm(prefix, 3)], "t3", T0 + 30_000)
    assert not refused.admitted
    assert refused.retry_after_ms == 30_000  # the entry of T0 leaves at T0 + 60 s
    assert refused.levels == [3]
    edge = await state.admit([rpm(prefix, 3)], "t4", T0 + 59_999)
    assert not edge.admitted and edge.retry_after_ms == 1
    assert (await state.admit([rpm(prefix, 3)], "t5", T0 + 60_000)).admitted
    # Now T0+10 s, +20 s and +60 s are in the window: the next frees at T0 + 70 s.
    later = await state.admit([rpm(prefix, 3)], "t6", T0 + 60_001)
    assert not later.admitted and later.retry_after_ms == 9_999


async def test_token_window_counts_weights_and_takes_the_correction(
    state: StateBackend, prefix: str
) -> None:
    tpm = Hold("window", f"{prefix}:tpm", 100, 60, 60_000)
    assert (await state.admit([tpm], "a", T0)).admitted
    second = Hold("window", f"{prefix}:tpm", 100, 50, 60_000)
    refused = await state.admit([second], "b", T0 + 5_000)
    assert not refused.admitted and refused.retry_after_ms == 55_000
    await state.settle([Settle("window", tpm.key, 30)], "a", T0 + 6_000)  # it used 30
    verdict = await state.admit([second], "b", T0 + 7_000)
    assert verdict.admitted and verdict.levels == [80]
    too_big = Hold("window", f"{prefix}:tpm", 100, 101, 60_000)
    never = await state.admit([too_big], "c", T0 + 8_000)
    assert not never.admitted and never.retry_after_ms == NEVER


async def test_slots_free_when_settled_or_when_the_lease_runs_out(
    state: StateBackend, prefix: str
) -> None:
    slot = Hold("slots", f"{prefix}:cc", 2, 1, 10_000)
    assert (await state.admit([slot], "a", T0)).admitted
    assert (await state.admit([slot], "b", T0)).admitted
    full = await state.admit([slot], "c", T0 + 1)
    assert not full.admitted and full.levels == [2]
    await state.settle([Settle("slots", slot.key)], "a", T0 + 2)
    assert (await state.admit([slot], "c", T0 + 3)).admitted
    assert not (await state.admit([slot], "d", T0 + 4)).admitted
    # b and c never settle (their replica died): their leases run out.
    assert (await state.admit([slot], "d", T0 + 10_003)).admitted


def budget(prefix: str, limit: int, amount: int, expires: int = T0 + 3_600_000) -> Hold:
    return Hold("budget", f"{prefix}:b", limit, amount, 30_000, expires)


async def test_budget_reserves_worst_case_and_settles_to_the_real_cost(
    state: StateBackend, prefix: str
) -> None:
    first = await state.admit([budget(prefix, 100, 40)], "a", T0)
    assert not first.admitted and first.missing == [0]  # no counter yet: seed it first
    await state.seed(f"{prefix}:b", 0, T0 + 3_600_000, T0)
    assert (await state.admit([budget(prefix, 100, 40)], "a", T0)).admitted
    assert (await state.admit([budget(prefix, 100, 40)], "b", T0)).admitted
    refused = await state.admit([budget(prefix, 100, 40)], "c", T0 + 1_000)
    assert not refused.admitted
    assert refused.levels == [80] and refused.spent == [0]
    assert refused.retry_after_ms == 3_600_000 - 1_000  # until the period ends
    assert await state.settle([Settle("budget", f"{prefix}:b", 10)], "a", T0 + 2_000) == [10]
    verdict = await state.admit([budget(prefix, 100, 40)], "c", T0 + 3_000)
    assert verdict.admitted and verdict.levels == [90] and verdict.spent == [10]
    never = await state.admit([budget(prefix, 100, 101)], "d", T0 + 4_000)
    assert not never.admitted and never.retry_after_ms == NEVER


async def test_budget_reservation_lapses_with_its_lease_and_a_late_settle_still_counts(
    state: StateBackend, prefix: str
) -> None:
    await state.seed(f"{prefix}:b", 5, T0 + 3_600_000, T0)
    assert (await state.admit([budget(prefix, 100, 90)], "a", T0)).admitted
    assert not (await state.admit([budget(prefix, 100, 90)], "b", T0 + 1)).admitted
    lapsed = await state.admit([budget(prefix, 100, 90)], "b", T0 + 30_000)
    assert lapsed.admitted and lapsed.levels == [95]  # a's 90 gave back, b's 90 taken
    # a's call did finish, late: what it cost is spent all the same.
    assert await state.settle([Settle("budget", f"{prefix}:b", 7)], "a", T0 + 31_000) == [12]


async def test_seed_never_overwrites_a_counter_another_replica_started(
    state: StateBackend, prefix: str
) -> None:
    await state.seed(f"{prefix}:b", 25, T0 + 3_600_000, T0)
    await state.seed(f"{prefix}:b", 0, T0 + 3_600_000, T0)
    verdict = await state.admit([budget(prefix, UNLIMITED, 0)], "a", T0)
    assert verdict.admitted and verdict.spent == [25]


async def test_an_admission_takes_all_its_holds_or_none(state: StateBackend, prefix: str) -> None:
    await state.seed(f"{prefix}:b", 0, T0 + 3_600_000, T0)
    holds = [rpm(prefix, 10), Hold("slots", f"{prefix}:cc", 5, 1, 10_000), budget(prefix, 10, 20)]
    refused = await state.admit(holds, "a", T0)
    assert not refused.admitted and refused.refused == 2
    ok = await state.admit([rpm(prefix, 10), Hold("slots", f"{prefix}:cc", 5, 1, 10_000)], "b", T0)
    assert ok.levels == [1, 1]  # the refused admission took nothing


async def test_settling_a_budget_whose_counter_is_gone_leaves_it_to_the_next_seed(
    state: StateBackend, prefix: str
) -> None:
    assert await state.settle([Settle("budget", f"{prefix}:gone", 50)], "a", T0) == [-1]
    verdict = await state.admit([budget(prefix, 100, 1)], "b", T0)
    assert verdict.missing == [0]


async def test_concurrent_admissions_never_pass_the_budget(
    state: StateBackend, prefix: str
) -> None:
    await state.seed(f"{prefix}:b", 0, T0 + 3_600_000, T0)
    verdicts = await asyncio.gather(
        *(state.admit([budget(prefix, 50 * 7, 7)], f"t{i}", T0 + i) for i in range(200))
    )
    assert sum(v.admitted for v in verdicts) == 50


async def test_once_is_claimed_by_the_first_caller_only(state: StateBackend, prefix: str) -> None:
    assert await state.once(f"{prefix}:alert", 60_000, T0)
    assert not await state.once(f"{prefix}:alert", 60_000, T0 + 1)
    assert await state.once(f"{prefix}:other", 60_000, T0 + 2)


async def test_a_settle_the_seed_already_counted_is_not_added_again(
    state: StateBackend, prefix: str
) -> None:
    # The counter was lost; the call's record (cost 7) was committed at T0 + 10, and the
    # counter was seeded from the records at T0 + 20: the seed holds the 7 already.
    await state.seed(f"{prefix}:b", 7, T0 + 3_600_000, T0 + 20)
    assert await state.settle([Settle("budget", f"{prefix}:b", 7)], "late", T0 + 10) == [7]
    assert await state.settle([Settle("budget", f"{prefix}:b", 5)], "new", T0 + 30) == [12]
