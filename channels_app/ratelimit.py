"""Per-traffic-account throughput limit shared by every worker (GCRA in Redis).

Each send reserves the next free slot atomically; the caller sends at that slot time. A
reservation is never given back, so a 100,000-message bulk to a 30 msg/s bot is spread over
the next hour instead of tripping the provider's ban.
"""

from __future__ import annotations

import time
from uuid import UUID

from redis.commands.core import Script

from gateway.redis import get_redis

# KEYS[1] the account's theoretical arrival time (TAT, ms); ARGV: now_ms, interval_ms, count.
_RESERVE = """
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
if tat < now then tat = now end
local first = tat
tat = tat + interval * count
redis.call('SET', KEYS[1], tat, 'PX', math.max(1000, tat - now + 1000))
return first
"""


_reserve_script: Script | None = None


def _script() -> Script:
    global _reserve_script
    if _reserve_script is None:
        _reserve_script = get_redis().register_script(_RESERVE)
    return _reserve_script


def reserve_slots(*, account_id: UUID, per_second: int, count: int = 1) -> list[float]:
    """Reserve ``count`` consecutive send slots; return their unix times (seconds)."""
    interval_ms = 1000.0 / per_second
    script = _script()
    now_ms = time.time() * 1000
    first_ms = float(script(keys=[f"gw:rate:{account_id}"], args=[now_ms, interval_ms, count]))
    return [(first_ms + i * interval_ms) / 1000 for i in range(count)]
