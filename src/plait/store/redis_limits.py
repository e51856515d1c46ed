"""Rate limits every process of a deployment shares: the token buckets of `plait.guard.limits`, kept in Redis.

One Lua script refills and takes from a request's key bucket and workspace bucket together (both or neither),
on Redis's clock, so the API processes draw on one budget. A bucket expires once it would be full again: an
idle key costs no memory. Redis out of reach must not fail requests: for a short while the process limits on
its own, with the in-process buckets, and says so in its log.

Loaded only when Redis is configured: ``redis`` is the optional extra ``plait[redis]``.
"""

from __future__ import annotations

from plait.guard.limits import InProcessRateLimiter, Rate
from plait.store.redis_hub import REDIS_ERRORS, Outage, RedisHub

# KEYS: the buckets; ARGV: each one's rate per second and burst. Returns the seconds to wait, "0" when taken.
# A bucket is a hash {t: tokens, at: last refill}; a missing one is full.
TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local bucket = redis.call('HMGET', key, 't', 'at')
  local level = burst
  if bucket[1] then
    level = math.min(burst, tonumber(bucket[1]) + math.max(0, now - tonumber(bucket[2])) * rate)
  end
  levels[i] = level
  if level < 1 then
    wait = math.max(wait, (1 - level) / rate)
  end
end
if wait > 0 then
  return tostring(wait)
end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('HSET', key, 't', tostring(levels[i] - 1), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((burst - levels[i] + 1) / rate * 1000) + 1000)
end
return '0'
"""


class RedisRateLimiter:
    """`plait.guard.limits.RateLimiter` on Redis, with ``fallback`` (this process's buckets) while it is out
    of reach. ``now`` is ignored on Redis: each process's monotonic clock is its own; Redis's is shared."""

    def __init__(self, hub: RedisHub, per_key: Rate, per_workspace: Rate, fallback: InProcessRateLimiter) -> None:
        self._hub = hub
        self._per_key = per_key
        self._per_workspace = per_workspace
        self._fallback = fallback
        self._take = hub.redis.register_script(TAKE)
        self._outage = Outage("rate limits (this process limits on its own meanwhile)")

    async def acquire(self, key_id: str, workspace_id: str, now: float) -> float:
        pairs = (("key", key_id, self._per_key), ("workspace", workspace_id, self._per_workspace))
        buckets = [(self._hub.key("ratelimit", kind, name), rate) for kind, name, rate in pairs if not rate.off]
        if not buckets:
            return 0.0
        if self._outage.down:
            return await self._fallback.acquire(key_id, workspace_id, now)
        args: list[float] = [value for _, rate in buckets for value in (rate.per_second, max(rate.burst, 1))]
        try:
            async with self._outage.guard():
                wait = await self._take(keys=[key for key, _ in buckets], args=args)
        except REDIS_ERRORS:
            return await self._fallback.acquire(key_id, workspace_id, now)
        return float(wait)
