"""WhatsApp message templates of a traffic account: managed at Meta, mirrored locally.

Meta's WhatsApp Business Management API is the source of truth; the local table exists so that a
send can be checked (template known, APPROVED, right number of parameters) without a call to
Meta per message, and so the list answers fast. The mirror moves in four ways: a create stores
the row only after Meta accepted it, a delete removes the rows only after Meta deleted them, the
``message_template_status_update`` webhook moves a row's status, and a refresh replaces the
account's rows with Meta's list.

Provider calls are never made inside a database transaction: a slow Graph API must not hold
row locks or a connection's transaction open.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework import status as http_status

from accounts_app.models import Customer, TrafficAccount
from channels_app.models import WhatsAppTemplate
from channels_app.providers.accounts import provider_account
from channels_app.providers.base import ProviderConfigError, ProviderThrottled, SendError
from channels_app.providers.registry import adapter_for
from channels_app.providers.whatsapp.adapter import WhatsAppAdapter
from gateway.channels import Channel
from gateway.problems import ProblemException

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS")
# Model column widths: a provider value longer than these is cut rather than failing the sync.
_STATUS_WIDTH = 16
_CATEGORY_WIDTH = 16
_LANGUAGE_WIDTH = 16
_PROVIDER_ID_WIDTH = 64
# Positional ({{1}}) and named ({{order_id}}) placeholders both take one parameter each.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_MEDIA_HEADER_FORMATS = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "LOCATION"})
# Credentials the template endpoints need (the messages endpoint needs phone_number_id instead).
_REQUIRED_CREDENTIALS = ("access_token", "waba_id")


@dataclass(frozen=True)
class TemplateSyncResult:
    created: int
    updated: int
    removed: int


# ---- accounts ----------------------------------------------------------------------------


def whatsapp_account_get(*, customer: Customer, traffic_account_id: Any) -> TrafficAccount:
    """The customer's WhatsApp traffic account.

    Another customer's account answers 404 exactly like a missing one, so ids cannot be probed;
    an account on another channel is the client's mistake (400), as it has no templates; a
    deactivated one answers 409.
    """
    try:
        account_uuid = uuid.UUID(str(traffic_account_id))
    except ValueError:
        account = None
    else:
        account = TrafficAccount.objects.filter(customer=customer, id=account_uuid).first()
    if account is None:
        raise ProblemException(
            status_code=http_status.HTTP_404_NOT_FOUND,
            problem_type="traffic-account-not-found",
            detail=f"Traffic account {traffic_account_id} does not exist.",
        )
    if account.channel != Channel.WHATSAPP:
        raise ProblemException(
            status_code=http_status.HTTP_400_BAD_REQUEST,
            problem_type="traffic-account-not-whatsapp",
            detail=f"Traffic account {account.id} sends on {account.channel}; only WhatsApp accounts have templates.",
        )
    if not account.is_active:
        # The same answer a send gets: a deactivated account makes no more calls to Meta.
        raise ProblemException(
            status_code=http_status.HTTP_409_CONFLICT,
            problem_type="traffic-account-inactive",
            detail=f"Traffic account {account.id} is inactive.",
        )
    return account


def _adapter(account: TrafficAccount) -> WhatsAppAdapter:
    missing = [key for key in _REQUIRED_CREDENTIALS if not (account.credentials or {}).get(key)]
    if missing:
        raise ProblemException(
            status_code=http_status.HTTP_502_BAD_GATEWAY,
            problem_type="provider-config-error",
            detail=(
                f"Traffic account {account.id} lacks the WhatsApp credential(s) {', '.join(missing)}; "
                "templates cannot be managed at Meta until an operator sets them."
            ),
        )
    return cast(WhatsAppAdapter, adapter_for(provider_account(account)))


def _provider_problem(account: TrafficAccount, error: SendError) -> ProblemException:
    """A 502 carrying Meta's code and text, so the client sees why its template was refused."""
    if isinstance(error, ProviderConfigError):
        problem_type = "provider-config-error"
        detail = (
            f"WhatsApp refused the credentials or permissions of traffic account {account.id} "
            f"(code {error.code}): {error.text}"
        )
    else:
        problem_type = "provider-error"
        detail = f"WhatsApp refused the request (code {error.code}): {error.text}"
    extra: dict[str, Any] = {"providerCode": error.code, "providerText": error.text, "retryable": error.retryable}
    if isinstance(error, ProviderThrottled) and error.retry_after is not None:
        extra["retryAfter"] = int(error.retry_after + 0.999)
    return ProblemException(
        status_code=http_status.HTTP_502_BAD_GATEWAY, problem_type=problem_type, detail=detail, extra=extra
    )


# ---- reads -------------------------------------------------------------------------------


def template_list(*, account: TrafficAccount, name: str | None = None) -> QuerySet[WhatsAppTemplate]:
    templates = WhatsAppTemplate.objects.filter(traffic_account=account)
    if name is not None:
        templates = templates.filter(name=name)
    return templates.order_by("name", "language")


# ---- writes ------------------------------------------------------------------------------


def template_create(
    *,
    account: TrafficAccount,
    name: str,
    category: str,
    language: str,
    components: list[dict[str, Any]],
) -> WhatsAppTemplate:
    """Submit a template to Meta and store it with Meta's id, status and category.

    The local duplicate check runs first so a known (name, language) answers 409 without a
    provider call; the unique constraint settles a race between two creates.
    """
    if WhatsAppTemplate.objects.filter(traffic_account=account, name=name, language=language).exists():
        raise _exists(name, language)
    adapter = _adapter(account)
    try:
        accepted = adapter.create_template(name=name, category=category, language=language, components=components)
    except SendError as exc:
        raise _provider_problem(account, exc) from exc
    answered_category = str(accepted.get("category") or "").upper()
    try:
        with transaction.atomic():
            return WhatsAppTemplate.objects.create(
                traffic_account=account,
                name=name,
                language=language,
                # Meta may file a template under another category than asked; its word stands.
                category=answered_category if answered_category in CATEGORIES else category,
                components=components,
                status=(str(accepted.get("status") or "") or "PENDING").upper()[:_STATUS_WIDTH],
                provider_template_id=str(accepted.get("id") or "")[:_PROVIDER_ID_WIDTH],
            )
    except IntegrityError as exc:
        raise _exists(name, language) from exc


def _exists(name: str, language: str) -> ProblemException:
    return ProblemException(
        status_code=http_status.HTTP_409_CONFLICT,
        problem_type="template-exists",
        detail=f"Template {name!r} already exists in {language} for this traffic account.",
    )


def template_delete(*, account: TrafficAccount, name: str) -> int:
    """Delete a template in every language, at Meta (which deletes by name) and locally.

    Returns the number of local rows removed. A name unknown locally answers 404 without a
    provider call; a refresh brings in templates created outside the gateway.
    """
    if not WhatsAppTemplate.objects.filter(traffic_account=account, name=name).exists():
        raise exceptions.NotFound(f"Template {name!r} does not exist for traffic account {account.id}.")
    adapter = _adapter(account)
    try:
        adapter.delete_template(name=name)
    except SendError as exc:
        raise _provider_problem(account, exc) from exc
    removed, _ = WhatsAppTemplate.objects.filter(traffic_account=account, name=name).delete()
    return removed


def template_sync(*, account: TrafficAccount) -> TemplateSyncResult:
    """Make the account's local templates equal to Meta's list.

    Rows written after the list was requested (a create or a status webhook racing the refresh)
    are newer than the snapshot and are left alone, so a refresh never undoes them.
    """
    adapter = _adapter(account)
    started = timezone.now()
    try:
        remote = adapter.list_templates()
    except SendError as exc:
        raise _provider_problem(account, exc) from exc
    wanted = {(t.name, t.language): t for t in _provider_templates(account, remote)}
    with transaction.atomic():
        local = {
            (t.name, t.language): t
            for t in WhatsAppTemplate.objects.select_for_update().filter(traffic_account=account)
        }
        stale = [t.id for key, t in local.items() if key not in wanted and t.updated_at < started]
        removed = WhatsAppTemplate.objects.filter(id__in=stale).delete()[0] if stale else 0
        new = [t for key, t in wanted.items() if key not in local]
        # A create racing the refresh may insert the same (name, language): its row is newer, keep it.
        WhatsAppTemplate.objects.bulk_create(new, ignore_conflicts=True)
        changed: list[WhatsAppTemplate] = []
        fields = ("category", "components", "status", "provider_template_id", "rejected_reason")
        for key, fresh in wanted.items():
            current = local.get(key)
            if current is None or current.updated_at >= started:
                continue
            if any(getattr(current, f) != getattr(fresh, f) for f in fields):
                for f in fields:
                    setattr(current, f, getattr(fresh, f))
                current.updated_at = timezone.now()
                changed.append(current)
        if changed:
            WhatsAppTemplate.objects.bulk_update(changed, [*fields, "updated_at"])
    return TemplateSyncResult(created=len(new), updated=len(changed), removed=removed)


def _provider_templates(account: TrafficAccount, items: Iterable[Mapping[str, Any]]) -> list[WhatsAppTemplate]:
    """Unsaved rows from Meta's list items; items without a name or language are skipped."""
    rows: list[WhatsAppTemplate] = []
    for item in items:
        name, language = str(item.get("name") or ""), str(item.get("language") or "")
        if not name or not language:
            continue
        reason = item.get("rejected_reason")
        components = item.get("components")
        rows.append(
            WhatsAppTemplate(
                traffic_account=account,
                name=name,
                language=language[:_LANGUAGE_WIDTH],
                category=str(item.get("category") or "").upper()[:_CATEGORY_WIDTH],
                components=components if isinstance(components, list) else [],
                status=str(item.get("status") or "PENDING").upper()[:_STATUS_WIDTH],
                provider_template_id=str(item.get("id") or "")[:_PROVIDER_ID_WIDTH],
                rejected_reason="" if reason in (None, "", "NONE") else str(reason),
            )
        )
    return rows


def template_status_update(
    *,
    account: TrafficAccount,
    name: str,
    language: str,
    status: str,
    reason: str = "",
    provider_template_id: str = "",
) -> WhatsAppTemplate | None:
    """Apply Meta's ``message_template_status_update`` verdict to the local row.

    The row is found by Meta's template id when known (exact even if the event omits the
    language), else by (name, language). Returns None for a template the gateway does not
    mirror (created in Meta's tools): a refresh brings it in with its full definition.
    Statuses are not ranked: a template legitimately goes APPROVED -> PAUSED -> APPROVED.
    """
    with transaction.atomic():
        rows = WhatsAppTemplate.objects.select_for_update().filter(traffic_account=account)
        template = rows.filter(provider_template_id=provider_template_id).first() if provider_template_id else None
        if template is None and language:
            template = rows.filter(name=name, language=language).first()
        if template is None:
            return None
        template.status = status.upper()[:_STATUS_WIDTH]
        template.rejected_reason = "" if reason in ("", "NONE") else reason
        if provider_template_id and not template.provider_template_id:
            template.provider_template_id = provider_template_id[:_PROVIDER_ID_WIDTH]
        template.save(update_fields=["status", "rejected_reason", "provider_template_id", "updated_at"])
        return template


# ---- the send path -----------------------------------------------------------------------


def placeholder_count(components: Any, component_type: str) -> int:
    """How many parameters the template's component of that type takes.

    Distinct ``{{n}}`` placeholders in its text; a media or location HEADER takes exactly one
    (the media or the place), which Meta requires on every send of such a template.
    """
    for component in components if isinstance(components, list) else []:
        if isinstance(component, Mapping) and str(component.get("type", "")).upper() == component_type:
            if component_type == "HEADER" and str(component.get("format", "")).upper() in _MEDIA_HEADER_FORMATS:
                return 1
            text = component.get("text")
            return len(set(PLACEHOLDER.findall(text))) if isinstance(text, str) else 0
    return 0


def template_check(*, account: TrafficAccount, content: Mapping[str, Any]) -> None:
    """Refuse a template message Meta would refuse: unknown, not APPROVED, wrong parameter count.

    ``content`` is the validated ``whatsapp`` object; anything but a template message passes.
    Errors are relative to that object (``{"template": {"parameters": [...]}}``); the caller
    nests them under the channel key it read.
    """
    if not isinstance(content, Mapping) or content.get("type") != "template":
        return
    spec = content.get("template")
    if not isinstance(spec, Mapping):
        return
    name, language = str(spec.get("name", "")), str(spec.get("language", ""))
    template = (
        WhatsAppTemplate.objects.filter(traffic_account=account, name=name, language=language)
        .only("status", "components")
        .first()
    )
    if template is None:
        raise exceptions.ValidationError(
            {
                "template": {
                    "name": [
                        f"Template {name!r} in {language} does not exist for traffic account {account.id}; "
                        "create it, or refresh the list if it was created at Meta directly."
                    ]
                }
            }
        )
    if template.status != WhatsAppTemplate.APPROVED:
        raise exceptions.ValidationError(
            {
                "template": {
                    "name": [
                        f"Template {name!r} in {language} is {template.status}; only APPROVED templates can be sent."
                    ]
                }
            }
        )
    errors: dict[str, list[str]] = {}
    for key, component_type in (("parameters", "BODY"), ("headerParameters", "HEADER")):
        expected = placeholder_count(template.components, component_type)
        given = spec.get(key) or []
        count = len(given) if isinstance(given, list) else 0
        if count != expected:
            errors[key] = [
                f"Template {name!r} in {language} has {expected} {component_type.lower()} placeholder(s); "
                f"{count} given."
            ]
    button_errors = _button_errors(template.components, spec.get("buttons") or [])
    if button_errors:
        errors["buttons"] = button_errors
    if errors:
        raise exceptions.ValidationError({"template": errors})


# Our button types and the BUTTONS component's types they fill.
_BUTTON_TYPES = {"quickReply": "QUICK_REPLY", "url": "URL"}


def _template_buttons(components: Any) -> list[Mapping[str, Any]]:
    for component in components if isinstance(components, list) else []:
        if isinstance(component, Mapping) and str(component.get("type", "")).upper() == "BUTTONS":
            buttons = component.get("buttons")
            return [b for b in buttons if isinstance(b, Mapping)] if isinstance(buttons, list) else []
    return []


def _button_errors(components: Any, given: list[Mapping[str, Any]]) -> list[str]:
    """What Meta would refuse about the button values: an index the template has no button at,
    a value for a button of another type, a suffix for a URL that takes none, or a dynamic URL
    button left without its suffix."""
    buttons = _template_buttons(components)
    errors: list[str] = []
    for value in given:
        index = int(value["index"])
        if index >= len(buttons):
            errors.append(f"The template has no button at index {index}.")
            continue
        actual = str(buttons[index].get("type", "")).upper()
        if actual != _BUTTON_TYPES[str(value["type"])]:
            errors.append(f"Button {index} is a {actual} button, not {value['type']}.")
        elif actual == "URL" and not PLACEHOLDER.search(str(buttons[index].get("url", ""))):
            errors.append(f"Button {index} has a fixed URL; it takes no suffix.")
    filled = {int(value["index"]) for value in given}
    for index, button in enumerate(buttons):
        dynamic = str(button.get("type", "")).upper() == "URL" and PLACEHOLDER.search(str(button.get("url", "")))
        if dynamic and index not in filled:
            errors.append(f"Button {index} has a dynamic URL: give its suffix as a url button value.")
    return errors
