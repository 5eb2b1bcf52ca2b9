"""``redis://``: state shared by every replica. Each operation is one Lua script, which Redis
runs atomically: an admission checks and takes all its holds with no other request in
between, however many replicas send them.

Keys (``<key>`` is what the admit stage names, prefix included):

    window   <key> hash {token: weight, "#sum": total}   <key>:z zset token -> admitted at
    slots    <key> zset token -> lease end
    budget   <key> hash {spent, reserved, "r:"token: amount}   <key>:r zset token -> lease end

Redis runs the scripts on one node: a Redis Cluster is not supported (keys of one request
may sit on different shards); a primary with replicas, or Sentinel, is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from keel.config.finops import StateConfig
from keel.state.base import (
    KEEP_DAYS_MS,
    BackendUnavailable,
    Hold,
    LimitVerdict,
    Settle,
    StateBackend,
)
from keel.state.circuit import Circuit

__all__ = ["RedisState"]

log = logging.getLogger("keel.state")

_KIND = {"window": "w", "slots": "s", "budget": "b"}

_COMMON = """
local function each_chunk(list, fn)
  for s = 1, #list, 500 do
    fn({unpack(list, s, math.min(s + 499, #list))})
  end
end

local function window_sum(key, cutoff)
  local old = redis.call('ZRANGEBYSCORE', key .. ':z', '-inf', cutoff)
  if #old == 0 then
    return tonumber(redis.call('HGET', key, '#sum') or 0)
  end
  local freed = 0
  each_chunk(old, function(part)
    local weights = redis.call('HMGET', key, unpack(part))
    for j = 1, #part do freed = freed + (tonumber(weights[j]) or 0) end
    redis.call('HDEL', key, unpack(part))
  end)
  redis.call('ZREMRANGEBYSCORE', key .. ':z', '-inf', cutoff)
  return redis.call('HINCRBY', key, '#sum', -freed)
end

local function window_wait(key, need, span, now)
  local freed, start = 0, 0
  while true do
    local page = redis.call('ZRANGE', key .. ':z', start, start + 99, 'WITHSCORES')
    if #page == 0 then return span end
    local members = {}
    for j = 1, #page, 2 do members[#members + 1] = page[j] end
    local weights = redis.call('HMGET', key, unpack(members))
    for j = 1, #members do
      freed = freed + (tonumber(weights[j]) or 0)
      if freed >= need then return tonumber(page[2 * j]) + span - now end
    end
    start = start + 100
  end
end

local function window_reset(key, span, now)
  local newest = redis.call('ZRANGE', key .. ':z', -1, -1, 'WITHSCORES')
  if #newest == 0 then return 0 end
  return math.max(0, tonumber(newest[2]) + span - now)
end

local function budget_use(key, now)
  local old = redis.call('ZRANGEBYSCORE', key .. ':r', '-inf', now)
  if #old > 0 then
    local freed = 0
    each_chunk(old, function(part)
      local fields = {}
      for j = 1, #part do fields[j] = 'r:' .. part[j] end
      local amounts = redis.call('HMGET', key, unpack(fields))
      for j = 1, #fields do freed = freed + (tonumber(amounts[j]) or 0) end
      redis.call('HDEL', key, unpack(fields))
    end)
    redis.call('ZREMRANGEBYSCORE', key .. ':r', '-inf', now)
    redis.call('HINCRBY', key, 'reserved', -freed)
  end
  local values = redis.call('HMGET', key, 'spent', 'reserved')
  return tonumber(values[1] or 0), tonumber(values[2] or 0)
end
"""

# ARGV[1], words split by spaces (one argument is cheaper to send than many): now, token,
# then per hold: kind, limit, amount, span, expires.
# Returns {0, levels.., spent.., resets..} admitted; {1, refused, wait, levels.., spent..,
# resets..} refused; {2, missing indices..} when budgets must be seeded first.
_ADMIT = (
    _COMMON
    + """
local A = {}
for word in string.gmatch(ARGV[1], '%S+') do A[#A + 1] = word end
local now, token = tonumber(A[1]), A[2]
local n = #KEYS
local missing = {2}
for i = 1, n do
  if A[3 + (i - 1) * 5] == 'b' and redis.call('HEXISTS', KEYS[i], 'spent') == 0 then
    missing[#missing + 1] = i - 1
  end
end
if #missing > 1 then return missing end
local levels, spent, resets, waits = {}, {}, {}, {}
local refused, longest = -1, 0
for i = 1, n do
  local at = 3 + (i - 1) * 5
  local kind, limit, amount = A[at], tonumber(A[at + 1]), tonumber(A[at + 2])
  local span, expires = tonumber(A[at + 3]), tonumber(A[at + 4])
  local key, use, wait = KEYS[i], 0, 0
  spent[i], resets[i] = 0, 0
  if kind == 'w' then
    use = window_sum(key, now - span)
    if use + amount > limit then
      if amount > limit then wait = -1
      else
        -- another replica's clock may run a little ahead: never more than a window
        wait = math.min(span, math.max(1, window_wait(key, use + amount - limit, span, now)))
      end
    end
    resets[i] = window_reset(key, span, now)
  elseif kind == 's' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    use = redis.call('ZCARD', key)
    if use + amount > limit then wait = 1000 end
  else
    local s, r = budget_use(key, now)
    use, spent[i] = s + r, s
    if use + amount > limit then
      if amount > limit then wait = -1 else wait = math.max(1, expires - now) end
    end
  end
  levels[i] = use
  if wait == -1 and longest ~= -1 then
    refused, longest = i - 1, -1
  elseif longest ~= -1 and wait > longest then
    refused, longest = i - 1, wait
  end
end
local out
if refused >= 0 then
  out = {1, refused, longest}
else
  out = {0}
  for i = 1, n do
    local at = 3 + (i - 1) * 5
    local kind, amount, span = A[at], tonumber(A[at + 2]), tonumber(A[at + 3])
    local expires, key = tonumber(A[at + 4]), KEYS[i]
    if kind == 'w' then
      redis.call('ZADD', key .. ':z', now, token)
      redis.call('HSET', key, token, amount)
      redis.call('HINCRBY', key, '#sum', amount)
      redis.call('PEXPIRE', key, span + 1000)
      redis.call('PEXPIRE', key .. ':z', span + 1000)
      resets[i] = span
      levels[i] = levels[i] + amount
    elseif kind == 's' then
      redis.call('ZADD', key, now + span, token)
      redis.call('PEXPIRE', key, span + 1000)
      levels[i] = levels[i] + 1
    elseif amount > 0 then
      redis.call('HINCRBY', key, 'reserved', amount)
      redis.call('HSET', key, 'r:' .. token, amount)
      redis.call('ZADD', key .. ':r', now + span, token)
      redis.call('PEXPIREAT', key .. ':r', expires + KEEP)
      levels[i] = levels[i] + amount
    end
  end
end
for i = 1, n do out[#out + 1] = levels[i] end
for i = 1, n do out[#out + 1] = spent[i] end
for i = 1, n do out[#out + 1] = resets[i] end
return out
"""
).replace("KEEP", str(KEEP_DAYS_MS))

# ARGV[1], as for admit: now, token, then per settle: kind, amount.
# Returns, per settle, the budget's spend.
_SETTLE = """
local A = {}
for word in string.gmatch(ARGV[1], '%S+') do A[#A + 1] = word end
local now, token = tonumber(A[1]), A[2]
local out = {}
for i = 1, #KEYS do
  local kind, amount, key = A[1 + i * 2], tonumber(A[2 + i * 2]), KEYS[i]
  out[i] = 0
  if kind == 'w' then
    local old = redis.call('HGET', key, token)
    if old then
      redis.call('HSET', key, token, amount)
      redis.call('HINCRBY', key, '#sum', amount - tonumber(old))
    end
  elseif kind == 's' then
    redis.call('ZREM', key, token)
  else
    local held = redis.call('HGET', key, 'r:' .. token)
    if held then
      redis.call('HDEL', key, 'r:' .. token)
      redis.call('ZREM', key .. ':r', token)
      redis.call('HINCRBY', key, 'reserved', -tonumber(held))
    end
    local counted = redis.call('HMGET', key, 'spent', 'seeded')
    if not counted[1] then
      out[i] = -1
    elseif counted[2] and tonumber(counted[2]) > now then
      out[i] = tonumber(counted[1])  -- seeded from records that hold this call already
    else
      out[i] = redis.call('HINCRBY', key, 'spent', amount)
    end
  end
end
return out
"""

_SEED = """
if redis.call('HSETNX', KEYS[1], 'spent', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'reserved', 0, 'seeded', ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 0
"""


class _Pool(BlockingConnectionPool):
    """A bounded pool whose wait for a free connection says so: a request that waited too
    long for one of keel's own connections says nothing about Redis."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except ConnectionError as exc:
            if isinstance(exc.__cause__, TimeoutError):  # the wait, not a connect, timed out
                raise _PoolBusy from exc
            raise


class _PoolBusy(Exception):
    pass


class RedisState(StateBackend):
    def __init__(self, config: StateConfig) -> None:
        self.url = config.url
        self.config = config
        # One quick retry heals a pooled connection that broke while Redis restarted; a
        # timeout is not retried: it would only double the wait of a request.
        self.pool = _Pool.from_url(
            config.url,
            max_connections=config.pool_size,
            timeout=config.pool_wait_s,
            socket_timeout=config.timeout_s,
            socket_connect_timeout=config.connect_timeout_s,
            retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
        )
        self.redis = Redis(connection_pool=self.pool)
        self._admit = self.redis.register_script(_ADMIT)
        self._settle = self.redis.register_script(_SETTLE)
        self._seed = self.redis.register_script(_SEED)
        self.circuit = Circuit(config.failures_to_open, config.open_s)
        # Past every timeout of one call (the pool's wait, a connect, an answer, one retry).
        self._bound_s = config.pool_wait_s + config.connect_timeout_s + 2 * config.timeout_s

    async def start(self) -> None:
        """Open the whole pool now, so a burst of first requests does not each open one."""
        opened = await asyncio.gather(
            *(self.pool.get_connection() for _ in range(self.config.pool_size)),
            return_exceptions=True,
        )
        errors = [r for r in opened if isinstance(r, BaseException)]
        for conn in opened:
            if not isinstance(conn, BaseException):
                await self.pool.release(conn)
        if errors:  # keel starts anyway; requests say what is wrong
            log.warning("state backend %s: could not open its connections: %r", self.url, errors[0])

    async def close(self) -> None:
        await self.redis.aclose()
        await self.pool.aclose()  # a pool handed to Redis() is not closed with it

    async def _run(self, op: Callable[[], Awaitable[Any]]) -> Any:
        self.circuit.check()
        try:
            async with asyncio.timeout(self._bound_s):
                result = await op()
        except _PoolBusy as exc:
            self.circuit.passed()
            raise BackendUnavailable(
                f"busy (all {self.config.pool_size} of keel's connections to it were in use for "
                f"{self.config.pool_wait_s:g} s: keel is overloaded, not necessarily Redis)"
            ) from exc
        except (RedisTimeoutError, TimeoutError) as exc:
            error = f"slow (no answer within {self.config.timeout_s * 1000:.0f} ms)"
            raise self._failed(error) from exc
        except (RedisError, OSError) as exc:
            raise self._failed(f"unreachable ({_describe(exc)})") from exc
        self.circuit.succeeded()
        return result

    def _failed(self, error: str) -> BackendUnavailable:
        self.circuit.failed(error)
        return BackendUnavailable(error)

    async def ping(self) -> None:
        await self._run(self.redis.ping)

    async def admit(self, holds: Sequence[Hold], token: str, now_ms: int) -> LimitVerdict:
        args: list[Any] = [now_ms, token]
        for hold in holds:
            args += (_KIND[hold.kind], hold.limit, hold.amount, hold.span_ms, hold.expires_ms)
        keys = [h.key for h in holds]
        words = " ".join(map(str, args))
        raw = await self._run(lambda: self._admit(keys=keys, args=[words]))
        reply = [int(v) for v in raw]
        n = len(holds)
        if reply[0] == 2:
            return LimitVerdict(False, [], [], missing=reply[1:])
        at = 1 if reply[0] == 0 else 3
        levels, spent, resets = reply[at : at + n], reply[at + n : at + 2 * n], reply[at + 2 * n :]
        if reply[0] == 0:
            return LimitVerdict(True, levels, spent, resets_ms=resets)
        return LimitVerdict(False, levels, spent, reply[1], reply[2], resets)

    async def settle(self, settles: Sequence[Settle], token: str, now_ms: int) -> list[int]:
        args: list[Any] = [now_ms, token]
        for item in settles:
            args += (_KIND[item.kind], item.amount)
        keys = [s.key for s in settles]
        words = " ".join(map(str, args))
        raw = await self._run(lambda: self._settle(keys=keys, args=[words]))
        return [int(v) for v in raw]

    async def seed(self, key: str, spent: int, expires_ms: int, as_of_ms: int) -> None:
        args = [spent, expires_ms + KEEP_DAYS_MS, as_of_ms]
        await self._run(lambda: self._seed(keys=[key], args=args))

    async def once(self, key: str, ttl_ms: int, now_ms: int) -> bool:
        claimed = await self._run(lambda: self.redis.set(key, 1, nx=True, px=max(1, ttl_ms)))
        return bool(claimed)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
