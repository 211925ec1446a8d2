"""Password-guessing limits for every place that checks a password (API login, password change,
the admin login).

Two limits, both counted in Redis *before* the password is verified, in one atomic script, so
parallel attempts cannot all read "under the limit" and then all run Argon2:

* per client address: at most ``LOGIN_IP_MAX_ATTEMPTS`` attempts per ``LOGIN_IP_WINDOW_SECONDS``
  (an IPv6 client counts per /64, the block one subscriber gets). This is what stops one client
  from burning CPU on Argon2 for made-up emails, and from spraying many accounts.
* per account (the email, known or not): ``LOGIN_MAX_FAILURES`` attempts go through freely, then
  each further attempt must wait a delay that doubles from ``LOGIN_BACKOFF_BASE_SECONDS`` up to
  ``LOGIN_BACKOFF_MAX_SECONDS``. A distributed guesser gets a few tries an hour; the real owner
  is slowed down, not locked out for a fixed quarter of an hour, and a success clears the state.

A successful login gives its address attempt back, so an office behind one NAT address is
limited by its failures, not by its logins.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from redis.commands.core import Script

from gateway.redis import get_redis

KEY_PREFIX = "gw:login"

# KEYS[1] per-address counter, KEYS[2] per-account hash {n, until}.
# ARGV: now_ms, ip_limit, ip_window_ms, free_attempts, base_ms, max_ms, account_window_ms.
# Returns {1, 0} when the attempt may go ahead (and is counted), {0, wait_ms} when it may not.
_RESERVE = """
local now = tonumber(ARGV[1])
local ip_count = tonumber(redis.call('GET', KEYS[1]) or '0')
if ip_count >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = tonumber(ARGV[3]) end
  return {0, ttl}
end
local n = tonumber(redis.call('HGET', KEYS[2], 'n') or '0')
local until_ms = tonumber(redis.call('HGET', KEYS[2], 'until') or '0')
if now < until_ms then
  return {0, until_ms - now}
end
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
n = n + 1
redis.call('HSET', KEYS[2], 'n', n)
local keep = tonumber(ARGV[7])
local free = tonumber(ARGV[4])
if n >= free then
  local delay = math.min(tonumber(ARGV[6]), tonumber(ARGV[5]) * math.pow(2, n - free))
  redis.call('HSET', KEYS[2], 'until', now + delay)
  keep = math.max(keep, delay + 1000)
end
redis.call('PEXPIRE', KEYS[2], math.floor(keep))
return {1, 0}
"""
_script: Script | None = None


class LoginThrottled(Exception):
    """Too many attempts; ``retry_after`` is the whole seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """A reserved password check; report its outcome with ``succeeded``."""

    address_key: str
    account_key: str

    def succeeded(self) -> None:
        with get_redis().pipeline() as pipe:
            pipe.delete(self.account_key)
            pipe.decr(self.address_key)
            pipe.execute()


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or the last entry of ``CLIENT_IP_HEADER`` when the
    gateway runs behind a proxy that sets it (the last entry is the one the proxy added)."""
    header = settings.CLIENT_IP_HEADER
    if header:
        meta_name = "HTTP_" + header.upper().replace("-", "_")
        forwarded = request.META.get(meta_name, "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _address_bucket(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _account_bucket(account: str) -> str:
    return hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]


def attempt_reserve(*, request: HttpRequest, account: str) -> Attempt:
    """Count a password check for this client and account before it runs, or raise
    ``LoginThrottled`` if either limit says wait."""
    global _script
    if _script is None:
        _script = get_redis().register_script(_RESERVE)
    address_key = f"{KEY_PREFIX}:ip:{_address_bucket(client_address(request))}"
    account_key = f"{KEY_PREFIX}:account:{_account_bucket(account)}"
    allowed, wait_ms = _script(
        keys=[address_key, account_key],
        args=[
            int(time.time() * 1000),
            settings.LOGIN_IP_MAX_ATTEMPTS,
            settings.LOGIN_IP_WINDOW_SECONDS * 1000,
            settings.LOGIN_MAX_FAILURES,
            int(settings.LOGIN_BACKOFF_BASE_SECONDS * 1000),
            int(settings.LOGIN_BACKOFF_MAX_SECONDS * 1000),
            settings.LOGIN_FAILURE_WINDOW_SECONDS * 1000,
        ],
    )
    if not int(allowed):
        raise LoginThrottled(retry_after=max(1, -(-int(wait_ms) // 1000)))
    return Attempt(address_key=address_key, account_key=account_key)
