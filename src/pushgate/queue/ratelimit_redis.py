"""Rate-limit buckets and day counters in Redis (scale mode), shared by every API process.

Each check is one Lua script, which Redis runs atomically
(https://redis.io/docs/latest/develop/interact/programmability/eval-intro/), so two
processes taking from one bucket cannot both see its last token. The scripts run the
arithmetic of ``core/ratelimit.py`` (GCRA: one timestamp per bucket), with the time passed
in from the caller's clock: processes whose clocks differ by a few milliseconds disagree
by that much about a bucket, which a rate limit can bear. Keys live under the queue's
prefix and hash tag, and expire once full (a bucket) or after their day (a counter).

If Redis cannot be reached, a check answers "allowed" (fail open) and a warning is logged
once per outage: the queue of the same Redis fails the send anyway, and the rest of the
API (reads, device registration) keeps working without limits rather than failing.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pushgate.core.models import RateLimit
from pushgate.core.ratelimit import Taken, day_left_ms, day_of, interval_ms

log = logging.getLogger(__name__)

# KEYS: the bucket. ARGV: now (ms), emission interval (ms), burst, cost. The stored value
# is the TAT, written with three decimals (Lua's tostring keeps only 14 digits).
# Returns {allowed, remaining, reset ms, retry ms}; mirrors ``core.ratelimit.gcra``.
GCRA = """
local now, step, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local eps = 1e-6
local tolerance = step * burst
local current = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if current < now then current = now end
local new_tat = current + step * cost
local allow_at = new_tat - tolerance
if allow_at > now then
  local remaining = math.floor((now - (current - tolerance)) / step + eps)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, math.ceil(current - now - eps), math.ceil(allow_at - now - eps)}
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX',
  math.ceil(new_tat - now) + 1)
return {1, math.floor((now - allow_at) / step + eps), math.ceil(new_tat - now - eps), 0}
"""

# KEYS: the day's counter. ARGV: limit, cost, ms until the key may go (past the day's end).
# Returns {allowed, used after}: a cost that would pass the limit is refused whole.
DAY = """
local limit, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + cost > limit then return {0, used} end
used = redis.call('INCRBY', KEYS[1], cost)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, used}
"""

# A day counter is kept an hour past its day, for clocks a little behind.
_DAY_KEEP_MS = 3600 * 1000


class RedisLimiter:
    """Buckets and day counters in Redis, under ``{prefix}:ratelimit:``."""

    def __init__(self, client: aioredis.Redis, prefix: str = "pushgate") -> None:
        self.client = client
        self.base = f"{{{prefix}}}:ratelimit"
        self._gcra = client.register_script(GCRA)
        self._day = client.register_script(DAY)
        self._failing = False

    @classmethod
    def from_url(cls, url: str, prefix: str = "pushgate") -> RedisLimiter:
        return cls(aioredis.Redis.from_url(url), prefix)

    async def take(self, bucket: str, limit: RateLimit, cost: int, now_ms: float) -> Taken | None:
        args: list[str | int] = [f"{now_ms:.3f}", repr(interval_ms(limit)), limit.burst, cost]
        try:
            found = await self._gcra(keys=[f"{self.base}:bucket:{bucket}"], args=args)
        except (RedisError, OSError) as exc:
            self._open(exc)
            return None
        self._failing = False
        allowed, remaining, reset_ms, retry_ms = (int(x) for x in found)
        return Taken(bool(allowed), remaining, reset_ms, retry_ms)

    async def count_day(self, counter: str, limit: int, cost: int, now_ms: float) -> Taken | None:
        left = day_left_ms(now_ms)
        key = f"{self.base}:day:{counter}:{day_of(now_ms)}"
        try:
            found = await self._day(keys=[key], args=[limit, cost, left + _DAY_KEEP_MS])
        except (RedisError, OSError) as exc:
            self._open(exc)
            return None
        self._failing = False
        allowed, used = int(found[0]), int(found[1])
        if allowed:
            return Taken(True, max(0, limit - used), left, 0)
        return Taken(False, max(0, limit - used), left, left)

    def _open(self, exc: Exception) -> None:
        """Not enforced (fail open), warned once per outage."""
        if not self._failing:
            self._failing = True
            log.warning("rate limits are not enforced while Redis is unreachable: %s", exc)

    async def close(self) -> None:
        await self.client.aclose()
