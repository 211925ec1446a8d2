"""``Idempotency-Key`` for send and sendbulk: a client that retries after a timeout gets the first
answer again instead of a second message.

The key's row is inserted in the same transaction as the messages. A concurrent retry's insert
waits on the unique index until the first commits, then finds the stored answer; a crash rolls
both back, so a key never points at a half-done send. A request that fails validation stores
nothing, so the client can correct it and resend with the same key. The same key with a
different body is refused (409 Conflict): it is a client bug, not a retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from accounts_app.models import Customer
from channels_app.models import IdempotencyRecord
from gateway.problems import ProblemException

MAX_KEY_LENGTH = 255


def _request_hash(path: str, payload: Any) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{path}\n{body}".encode()).hexdigest()


def idempotent(
    *, customer: Customer, key: str | None, path: str, payload: Any, work: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run ``work`` once per (customer, key); replay its (status, body) for later retries."""
    if not key:
        return work()
    if len(key) > MAX_KEY_LENGTH:
        raise ProblemException(
            status_code=status.HTTP_400_BAD_REQUEST,
            problem_type="invalid-idempotency-key",
            detail=f"Idempotency-Key is at most {MAX_KEY_LENGTH} characters.",
        )
    digest = _request_hash(path, payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(customer=customer, key=key, request_hash=digest)
        except IntegrityError:
            existing = IdempotencyRecord.objects.get(customer=customer, key=key)
            if existing.request_hash != digest:
                raise ProblemException(
                    status_code=status.HTTP_409_CONFLICT,
                    problem_type="idempotency-key-reused",
                    detail="This Idempotency-Key was used for a different request.",
                ) from None
            assert existing.response_status is not None  # stored in the transaction that inserted the row
            return existing.response_status, existing.response_body
        response_status, body = work()
        IdempotencyRecord.objects.filter(id=record.id).update(response_status=response_status, response_body=body)
    return response_status, body


def idempotency_records_expire() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
