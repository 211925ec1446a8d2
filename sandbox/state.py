"""The sandbox's shared state in Redis: behaviours, recordings, registrations, callback schedule.

Every gunicorn worker reads and writes the same keys, so a behaviour set through one worker
applies to sends answered by another. The send path is one Lua script call: it reads the
destination's behaviour, counts ``times``, records the request, bumps the counters and
schedules the delivery report in a single round trip, which keeps the per-request cost flat.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from sandbox.behaviours import SUCCESS, Behaviour, normalise_destination
from sandbox.config import SandboxConfig

# KEYS: behaviour, behaviour hits, stats, requests, due callbacks, settings.
# ARGV: channel, record (JSON object without its closing brace), record cap, now, default report
#       delay, provider id, callback entry (JSON object without its closing brace, or "").
_SEND_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
local behaviour = nil
if raw then
  behaviour = cjson.decode(raw)
  local times = tonumber(behaviour['times'])
  if times then
    local hits = redis.call('INCR', KEYS[2])
    if hits > times then
      behaviour = nil
      raw = false
    end
  end
end
local outcome = 'success'
if behaviour and type(behaviour['outcome']) == 'string' then outcome = behaviour['outcome'] end
local record = ARGV[2] .. ',"outcome":"' .. outcome .. '"'
if outcome == 'success' then record = record .. ',"providerId":' .. cjson.encode(ARGV[6]) end
redis.call('RPUSH', KEYS[4], record .. '}')
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[3]), -1)
redis.call('HINCRBY', KEYS[3], 'req:' .. ARGV[1], 1)
redis.call('HINCRBY', KEYS[3], 'out:' .. ARGV[1] .. ':' .. outcome, 1)
if outcome == 'success' and ARGV[7] ~= '' then
  local report = 'delivered'
  local delay = tonumber(redis.call('HGET', KEYS[6], 'reportDelaySeconds')) or tonumber(ARGV[5])
  if behaviour then
    if type(behaviour['report']) == 'string' then report = behaviour['report'] end
    delay = tonumber(behaviour['reportDelaySeconds']) or delay
  end
  if report ~= 'none' then
    local entry = ARGV[7] .. ',"report":"' .. report .. '"'
    if raw then entry = entry .. ',"behaviour":' .. raw end
    redis.call('ZADD', KEYS[5], string.format('%.6f', tonumber(ARGV[4]) + delay), entry .. '}')
  end
end
if raw then return {outcome, raw} end
return {outcome}
"""

# Claim due callbacks: read and remove in one atomic step, so two senders never get the same one.
_CLAIM_SCRIPT = """
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #items > 0 then redis.call('ZREM', KEYS[1], unpack(items)) end
return items
"""

_ID_BLOCK = 1000


@dataclass(frozen=True)
class SendDecision:
    outcome: str
    behaviour: Behaviour

    @property
    def succeeded(self) -> bool:
        return self.outcome == SUCCESS


@dataclass(frozen=True)
class SendTicket:
    """One provider send for the send script: who it is for, what to record, what to schedule."""

    channel: str
    destination: str
    record: Mapping[str, Any]
    provider_id: str
    callback_entry: Mapping[str, Any] | None = None


def _open_json(value: Mapping[str, Any]) -> str:
    """The JSON object without its closing brace, for the script to append fields cheaply."""
    return json.dumps(value, separators=(",", ":"), default=str)[:-1]


def _decode(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


class SandboxState:
    """All Redis access of the sandbox; one instance per process is shared by every thread."""

    def __init__(self, config: SandboxConfig, client: redis.Redis | None = None) -> None:
        self.config = config
        self.prefix = config.key_prefix
        self.redis: redis.Redis = client or redis.Redis.from_url(
            config.redis_url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
        )
        self._send_script = self.redis.register_script(_SEND_SCRIPT)
        self._claim_script = self.redis.register_script(_CLAIM_SCRIPT)
        self._id_lock = threading.Lock()
        self._id_next = 0
        self._id_end = 0

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # ---- health and reset ----------------------------------------------------------------

    def ping(self) -> bool:
        return bool(self.redis.ping())

    def reset(self) -> None:
        """Forget everything under the prefix except the id sequence (ids must never repeat)."""
        keep = self.key("seq").encode()
        batch: list[bytes] = []
        for key in self.redis.scan_iter(match=self.prefix + "*", count=1000):
            if key != keep:
                batch.append(key)
            if len(batch) >= 500:
                self.redis.delete(*batch)
                batch = []
        if batch:
            self.redis.delete(*batch)

    def destroy(self) -> None:
        """Remove every key of this prefix, id sequence included (end of a test run)."""
        keys = list(self.redis.scan_iter(match=self.prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            self.redis.delete(*keys[start:start + 500])

    # ---- ids -----------------------------------------------------------------------------

    def next_int(self) -> int:
        """A process-unique, sandbox-wide increasing integer; Redis is asked once per block."""
        with self._id_lock:
            if self._id_next >= self._id_end:
                end = int(self.redis.incrby(self.key("seq"), _ID_BLOCK))
                self._id_next, self._id_end = end - _ID_BLOCK + 1, end + 1
            value = self._id_next
            self._id_next += 1
            return value

    # ---- sends and recording --------------------------------------------------------------

    def _send_args(self, ticket: SendTicket, now: float) -> tuple[list[str], list[Any]]:
        keys = [
            self.key("behaviour", ticket.destination),
            self.key("hits", ticket.destination),
            self.key("stats"),
            self.key("requests"),
            self.key("due"),
            self.key("settings"),
        ]
        args = [
            ticket.channel,
            _open_json(ticket.record),
            self.config.record_limit,
            f"{now:.6f}",
            f"{self.config.report_delay:.6f}",
            ticket.provider_id,
            _open_json(ticket.callback_entry) if ticket.callback_entry else "",
        ]
        return keys, args

    @staticmethod
    def _decision(result: Sequence[Any]) -> SendDecision:
        outcome = _decode(result[0])
        behaviour = Behaviour.from_json(_decode(result[1])) if len(result) > 1 else Behaviour()
        return SendDecision(outcome=outcome, behaviour=behaviour)

    def decide_send(self, ticket: SendTicket) -> SendDecision:
        """Apply the destination's behaviour, record the send and schedule its report at once."""
        keys, args = self._send_args(ticket, time.time())
        return self._decision(self._send_script(keys=keys, args=args))

    def decide_sends(self, tickets: Sequence[SendTicket]) -> list[SendDecision]:
        """``decide_send`` for several destinations (a bulk SMS) in one pipeline."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        for ticket in tickets:
            keys, args = self._send_args(ticket, now)
            self._send_script(keys=keys, args=args, client=pipe)
        return [self._decision(result) for result in pipe.execute()]

    def record(self, channel: str, record: Mapping[str, Any], outcome: str) -> None:
        """Record a request that no behaviour applies to (auth failures, webhooks, templates)."""
        entry = dict(record, outcome=outcome)
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self.key("requests"), json.dumps(entry, separators=(",", ":"), default=str))
        pipe.ltrim(self.key("requests"), -self.config.record_limit, -1)
        pipe.hincrby(self.key("stats"), f"req:{channel}", 1)
        pipe.hincrby(self.key("stats"), f"out:{channel}:{outcome}", 1)
        pipe.execute()

    def recorded_requests(
        self, *, channel: str | None = None, destination: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first, optionally filtered; ``limit`` keeps the newest."""
        records = [json.loads(item) for item in self.redis.lrange(self.key("requests"), 0, -1)]
        if channel:
            records = [r for r in records if r.get("channel") == channel]
        if destination:
            wanted = normalise_destination(destination)
            records = [r for r in records if r.get("destination") == wanted]
        if limit is not None:
            records = records[-limit:] if limit > 0 else []
        return records

    def clear_requests(self) -> None:
        self.redis.delete(self.key("requests"), self.key("stats"))

    def stats(self) -> dict[str, Any]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.key("stats"))
        pipe.zcard(self.key("due"))
        counters, pending = pipe.execute()
        requests: dict[str, int] = {}
        outcomes: dict[str, dict[str, int]] = {}
        callbacks: dict[str, dict[str, int]] = {}
        for raw_field, raw_value in counters.items():
            field, value = _decode(raw_field), int(raw_value)
            kind, _, rest = field.partition(":")
            if kind == "req":
                requests[rest] = value
            elif kind == "out":
                channel, _, outcome = rest.partition(":")
                outcomes.setdefault(channel, {})[outcome] = value
            elif kind == "cb":
                channel, _, result = rest.partition(":")
                callbacks.setdefault(channel, {})[result] = value
        return {
            "requests": dict(requests, total=sum(requests.values())),
            "outcomes": outcomes,
            "callbacks": callbacks,
            "callbacksPending": int(pending),
        }

    # ---- behaviours ----------------------------------------------------------------------

    def set_behaviour(self, destination: str, behaviour: Mapping[str, Any]) -> None:
        """Store a behaviour and restart its ``times`` count."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.key("behaviour", destination), json.dumps(behaviour, separators=(",", ":")))
        pipe.delete(self.key("hits", destination))
        pipe.execute()

    def get_behaviour(self, destination: str) -> dict[str, Any] | None:
        raw = self.redis.get(self.key("behaviour", destination))
        return json.loads(raw) if raw else None

    def delete_behaviour(self, destination: str) -> bool:
        return bool(self.redis.delete(self.key("behaviour", destination), self.key("hits", destination)))

    def behaviours(self) -> dict[str, dict[str, Any]]:
        marker = self.key("behaviour", "")
        keys = list(self.redis.scan_iter(match=marker + "*", count=1000))
        values = self.redis.mget(keys) if keys else []
        return {
            _decode(key)[len(marker):]: json.loads(value) for key, value in zip(keys, values, strict=True) if value
        }

    def clear_behaviours(self) -> None:
        for pattern in (self.key("behaviour", "*"), self.key("hits", "*")):
            keys = list(self.redis.scan_iter(match=pattern, count=1000))
            if keys:
                self.redis.delete(*keys)

    # ---- registrations (where callbacks go, and their secrets) -----------------------------

    def registration_key(self, kind: str, account: str) -> str:
        return self.key("registration", kind, account)

    def set_registration(self, kind: str, account: str, data: Mapping[str, Any]) -> None:
        self.redis.set(self.registration_key(kind, account), json.dumps(data, separators=(",", ":")))

    def get_registration(self, kind: str, account: str) -> dict[str, Any] | None:
        raw = self.redis.get(self.registration_key(kind, account))
        return json.loads(raw) if raw else None

    def delete_registration(self, kind: str, account: str) -> bool:
        return bool(self.redis.delete(self.registration_key(kind, account)))

    def registrations_by_key(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Several registrations in one round trip (the callback sender resolves a batch)."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        values = self.redis.mget(unique)
        return {key: json.loads(value) for key, value in zip(unique, values, strict=True) if value}

    # ---- runtime settings ----------------------------------------------------------------

    def settings(self) -> dict[str, str]:
        return {_decode(k): _decode(v) for k, v in self.redis.hgetall(self.key("settings")).items()}

    def update_settings(self, values: Mapping[str, str | None]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for name, value in values.items():
            if value is None:
                pipe.hdel(self.key("settings"), name)
            else:
                pipe.hset(self.key("settings"), name, value)
        pipe.execute()

    # ---- WhatsApp message templates --------------------------------------------------------

    def templates(self, waba_id: str) -> list[dict[str, Any]]:
        values = self.redis.hvals(self.key("templates", waba_id))
        return sorted((json.loads(v) for v in values), key=lambda t: int(t["id"]))

    def add_template(self, waba_id: str, template: Mapping[str, Any]) -> bool:
        """Store a template unless one with its name and language exists already."""
        field = f"{template['name']}|{template['language']}"
        payload = json.dumps(template, separators=(",", ":"))
        return bool(self.redis.hsetnx(self.key("templates", waba_id), field, payload))

    def delete_templates(self, waba_id: str, name: str, template_id: str | None = None) -> int:
        key = self.key("templates", waba_id)
        doomed = [
            field
            for field, value in self.redis.hgetall(key).items()
            if json.loads(value)["name"] == name and (template_id is None or json.loads(value)["id"] == template_id)
        ]
        return int(self.redis.hdel(key, *doomed)) if doomed else 0

    # ---- callback schedule ---------------------------------------------------------------

    def schedule(self, entry: Mapping[str, Any], due: float) -> None:
        self.redis.zadd(self.key("due"), {json.dumps(entry, separators=(",", ":"), default=str): due})

    def claim_due(self, now: float, limit: int) -> list[dict[str, Any]]:
        items = self._claim_script(keys=[self.key("due")], args=[f"{now:.6f}", limit])
        return [json.loads(item) for item in items]

    def pending_callbacks(self) -> int:
        return int(self.redis.zcard(self.key("due")))

    def log_callbacks(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append callback outcomes (each with ``channel`` and ``result``) and count them."""
        counts: dict[str, int] = {}
        for record in records:
            field = f"cb:{record.get('channel')}:{record.get('result')}"
            counts[field] = counts.get(field, 0) + 1
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self.key("callbacks"), *(json.dumps(r, separators=(",", ":"), default=str) for r in records))
        pipe.ltrim(self.key("callbacks"), -self.config.callback_log_limit, -1)
        for field, count in counts.items():
            pipe.hincrby(self.key("stats"), field, count)
        pipe.execute()

    def callbacks(self, *, channel: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        records = [json.loads(item) for item in self.redis.lrange(self.key("callbacks"), 0, -1)]
        if channel:
            records = [r for r in records if r.get("channel") == channel]
        if limit is not None:
            records = records[-limit:] if limit > 0 else []
        return records

    def clear_callbacks(self) -> None:
        self.redis.delete(self.key("callbacks"))
