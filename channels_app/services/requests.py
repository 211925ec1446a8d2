"""Turn a Chat API send request into validated hops, before anything is stored.

A request names one traffic account (``trafficAccountId``) or a failover chain
(``failover.timeoutFailover.trafficAccounts``), a destination, and one content object per channel
used. The Chat API guide (docs/chat-api.md) spells channel keys in more than one case
(``whatsapp`` and ``whatsApp``), and
sendbulk examples carry empty objects for channels not used (``"viber": {}``): keys are matched
case-insensitively and empty objects are ignored. A non-empty object for a channel that no
traffic account of the request uses is refused, so content is never silently dropped.
Unknown top-level fields are ignored (tolerant reader), unknown fields inside a channel object
are refused (see ``channels_app.content``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from rest_framework import exceptions, status

from accounts_app.cache import traffic_accounts_of
from accounts_app.models import Customer, TrafficAccount
from channels_app.capabilities import can_reach
from channels_app.content import normalise_destination, sms_encoding_and_segments, validate_content
from channels_app.providers.viber.kinds import viber_kind_check
from channels_app.services.customer_metadata import CustomerMetadata, customer_metadata
from channels_app.services.templates import template_check
from channels_app.status import FAILOVER_WANTED
from gateway.channels import Channel
from gateway.nul import contains_nul
from gateway.problems import ProblemException

MAX_FAILOVER_HOPS = 10
MAX_FAILOVER_TIMEOUT_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Hop:
    """One traffic account of a send with the content and destination it will use."""

    account: TrafficAccount
    channel_key: str  # the key as the client spelled it, for error paths
    content: dict[str, Any]
    sms_encoding: str = ""
    sms_segments: int | None = None


@dataclass(frozen=True)
class FailoverSpec:
    timeout_seconds: int
    wanted_status: str


@dataclass(frozen=True)
class SendPlan:
    hops: list[Hop]
    failover: FailoverSpec | None
    # Mitto's per-request ``"test": true``, for every channel: nothing reaches the provider.
    test: bool = False
    tags: CustomerMetadata = field(default_factory=CustomerMetadata)


def channel_objects(payload: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """``{channel: (key as given, value)}`` for every non-empty channel object in the request."""
    found: dict[str, tuple[str, Any]] = {}
    for key, value in payload.items():
        channel = key.lower() if isinstance(key, str) else ""
        if channel in Channel.ALL and value not in (None, {}, []):
            if channel in found:
                raise exceptions.ValidationError({key: [f"The {channel} object is given twice."]})
            found[channel] = (key, value)
    return found


def _parse_uuid(value: Any, path: str) -> UUID:
    try:
        return UUID(str(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise exceptions.ValidationError({path: ["Must be a UUID."]}) from exc


def _failover(payload: Mapping[str, Any]) -> tuple[list[UUID], FailoverSpec] | None:
    raw = payload.get("failover")
    if raw in (None, {}):
        return None
    if not isinstance(raw, Mapping):
        raise exceptions.ValidationError({"failover": ["Must be an object."]})
    if raw.get("type") != "Timeout":
        raise exceptions.ValidationError({"failover": {"type": ['The only failover type is "Timeout".']}})
    timeout = raw.get("timeoutFailover")
    if not isinstance(timeout, Mapping):
        raise exceptions.ValidationError({"failover": {"timeoutFailover": ["This field is required."]}})
    errors: dict[str, list[str]] = {}
    seconds = timeout.get("timeoutInSeconds")
    if isinstance(seconds, float) and seconds.is_integer():
        seconds = int(seconds)  # JSON has one number type: 20.0 is the integer 20
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_FAILOVER_TIMEOUT_SECONDS:
        errors["timeoutInSeconds"] = [f"Must be a whole number of seconds from 1 to {MAX_FAILOVER_TIMEOUT_SECONDS}."]
    wanted = timeout.get("status", "Delivered")
    canonical = {s.lower(): s for s in FAILOVER_WANTED}.get(str(wanted).strip().lower())
    if canonical is None:
        errors["status"] = [f"Must be one of {', '.join(sorted(FAILOVER_WANTED))}."]
    accounts = timeout.get("trafficAccounts")
    if not isinstance(accounts, list) or not 1 <= len(accounts) <= MAX_FAILOVER_HOPS:
        errors["trafficAccounts"] = [f"Must be a list of 1 to {MAX_FAILOVER_HOPS} traffic account ids."]
    if errors:
        raise exceptions.ValidationError({"failover": {"timeoutFailover": errors}})
    assert isinstance(accounts, list) and isinstance(seconds, int)  # else errors were raised above
    ids = [
        _parse_uuid(value, f"failover.timeoutFailover.trafficAccounts[{index}]") for index, value in enumerate(accounts)
    ]
    if len(set(ids)) != len(ids):
        raise exceptions.ValidationError(
            {"failover": {"timeoutFailover": {"trafficAccounts": ["A traffic account appears twice in the chain."]}}}
        )
    return ids, FailoverSpec(timeout_seconds=seconds, wanted_status=canonical or "Delivered")


def _accounts(customer: Customer, ids: list[UUID]) -> list[TrafficAccount]:
    """The customer's traffic accounts, in the order given. Another customer's id answers 404,
    exactly like one that does not exist, so ids of other customers cannot be probed."""
    found = traffic_accounts_of(customer.id, ids)
    for account_id in ids:
        account = found.get(account_id)
        if account is None:
            raise ProblemException(
                status_code=status.HTTP_404_NOT_FOUND,
                problem_type="traffic-account-not-found",
                detail=f"Traffic account {account_id} does not exist.",
            )
        if not account.is_active:
            raise ProblemException(
                status_code=status.HTTP_409_CONFLICT,
                problem_type="traffic-account-inactive",
                detail=f"Traffic account {account_id} is inactive.",
            )
    return [found[i] for i in ids]


def _hop_path(account: TrafficAccount, chain_ids: list[UUID]) -> str:
    if account.id in chain_ids:
        return f"failover.timeoutFailover.trafficAccounts[{chain_ids.index(account.id)}]"
    return "trafficAccountId"


def _check_reachable(accounts: list[TrafficAccount], wanted: str, chain_ids: list[UUID]) -> None:
    """Refuse a chain in which a hop that hands over to a next one waits for a status its channel
    never reports: it could only ever time out. The last hop waits for nothing."""
    for index, account in enumerate(accounts[:-1]):
        if not can_reach(account.channel, wanted):
            path = _hop_path(account, chain_ids)
            raise ProblemException(
                status_code=status.HTTP_400_BAD_REQUEST,
                problem_type="failover-status-unreachable",
                detail=(
                    f"Hop {index + 1} ({path}, traffic account {account.id}) waits for {wanted}, "
                    f"which {account.channel} never reports: the chain would always time out there."
                ),
                extra={"hop": index + 1, "trafficAccountId": str(account.id), "path": path},
            )


def _test_flag(payload: Mapping[str, Any]) -> bool:
    value = payload.get("test", False)
    if not isinstance(value, bool):
        raise exceptions.ValidationError({"test": ["Must be true or false."]})
    return value


def send_plan(*, customer: Customer, payload: Mapping[str, Any]) -> SendPlan:
    """Resolve the accounts and validate the content of a send or sendbulk request."""
    if not isinstance(payload, Mapping):
        raise exceptions.ValidationError({"$": ["The request body must be a JSON object."]})
    failover = _failover(payload)
    tags = customer_metadata(payload)
    first_id = payload.get("trafficAccountId")
    ids: list[UUID] = []
    if first_id not in (None, ""):
        ids.append(_parse_uuid(first_id, "trafficAccountId"))
    if failover is not None:
        ids.extend(i for i in failover[0] if i not in ids)
    if not ids:
        raise exceptions.ValidationError({"trafficAccountId": ["This field is required."]})
    accounts = _accounts(customer, ids)
    if failover is not None:
        _check_reachable(accounts, failover[1].wanted_status, failover[0])
    objects = channel_objects(payload)
    hops: list[Hop] = []
    errors: dict[str, Any] = {}
    for index, account in enumerate(accounts):
        given = objects.get(account.channel)
        if given is None:
            where = (
                "trafficAccountId" if index == 0 and first_id else f"failover.timeoutFailover.trafficAccounts[{index}]"
            )
            errors.setdefault(
                account.channel,
                [
                    f"Traffic account {account.id} ({where}) sends on {account.channel}: "
                    f"a non-empty {account.channel!r} object is required."
                ],
            )
            continue
        key, raw = given
        try:
            # Field validation first: its bounds name the path of a NUL or of a too-deep object.
            content = validate_content(account.channel, raw)
            if contains_nul(raw):
                raise exceptions.ValidationError(["Must not contain NUL characters (\\u0000)."])
            if account.channel == Channel.WHATSAPP:
                template_check(account=account, content=content)
            if account.channel == Channel.VIBER:
                viber_kind_check(account.viber_kind, content)
        except exceptions.ValidationError as exc:
            errors[key] = exc.detail
            continue
        encoding, segments = "", None
        if account.channel == Channel.SMS and not content.get("sender") and not account.sender:
            # Mitto refuses an empty "from" (responseCode 5): say so now, not as a Failed message.
            errors[key] = {"sender": [
                f"Required: traffic account {account.id} has no default sender."
            ]}
            continue
        if account.channel == Channel.SMS:
            encoding, segments = sms_encoding_and_segments(content["text"])
        hops.append(
            Hop(account=account, channel_key=key, content=content, sms_encoding=encoding, sms_segments=segments)
        )
    used = {a.channel for a in accounts}
    for channel, (key, _) in objects.items():
        if channel not in used:
            errors[key] = [
                f"No traffic account of this request sends on {channel}; "
                f"the traffic account is bound to {', '.join(sorted(used))}."
            ]
    if errors:
        raise exceptions.ValidationError(errors)
    return SendPlan(hops=hops, failover=failover[1] if failover else None, test=_test_flag(payload), tags=tags)


def destination_for(account: TrafficAccount, value: Any, path: str = "destination") -> str:
    try:
        return normalise_destination(account.channel, value, viber_kind=account.viber_kind)
    except exceptions.ValidationError as exc:
        raise exceptions.ValidationError({path: exc.detail}) from exc
