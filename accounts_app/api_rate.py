"""Per-customer API rate limit (OWASP API4: sends cost money, and every request costs CPU).

A GCRA bucket per customer in Redis, shared by every web process: ``rate`` requests per second
on average with bursts of ``rate * API_RATE_BURST_SECONDS``. The rate is the customer's own
``api_rate_per_second`` (set by staff) or ``API_RATE_PER_SECOND``. Over the limit the API answers
429 problem+json with ``Retry-After``; a refused request spends nothing, so a client that waits
as told gets through. Unauthenticated endpoints (login) have their own limits (``login_throttle``).
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from redis.commands.core import Script
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from gateway.redis import get_redis

# KEYS[1] the customer's theoretical arrival time (ms); ARGV: now_ms, interval_ms, burst_ms.
# Returns 0 when allowed (and spent), else the ms to wait.
_ACQUIRE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat + interval - tonumber(ARGV[3]) - now
if wait > 0 then return wait end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.floor(tat - now + 1000))
return 0
"""
_script: Script | None = None


def customer_rate(customer: object) -> float:
    own = getattr(customer, "api_rate_per_second", None)
    return float(own if own else settings.API_RATE_PER_SECOND)


def acquire(*, customer_id: object, rate: float) -> float:
    """Spend one request of the customer's bucket; 0 when allowed, else the seconds to wait."""
    global _script
    if _script is None:
        _script = get_redis().register_script(_ACQUIRE)
    interval_ms = 1000.0 / rate
    burst_ms = max(interval_ms, rate * settings.API_RATE_BURST_SECONDS * interval_ms)
    wait_ms = float(_script(keys=[f"gw:api-rate:{customer_id}"], args=[time.time() * 1000, interval_ms, burst_ms]))
    return wait_ms / 1000


def retry_after(customer: Any) -> int | None:
    """Spend one request of the customer's bucket: None when allowed, else the whole seconds
    (at least 1) the client must wait. Shared by the DRF throttle and the lean hot routes."""
    rate = customer_rate(customer)
    if rate <= 0:  # 0 switches the limit off
        return None
    wait = acquire(customer_id=customer.pk, rate=rate)
    return max(1, math.ceil(wait)) if wait > 0 else None


class CustomerRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        customer = request.user
        if customer is None or not getattr(customer, "is_authenticated", False):
            return True
        self._wait = retry_after(customer)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
