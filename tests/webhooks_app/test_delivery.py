"""Delivery: signed POSTs that Standard Webhooks verifies, retries on a schedule, the attempt log,
redelivery, URL safety at send time, single delivery under duplicate tasks, and the sweeper."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import responses
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from channels_app.models import Conversation, Message
from channels_app.services.transitions import message_transition
from channels_app.status import Status
from gateway.safe_transport import webhook_session
from gateway.url_safety import WebhookUrlRefused
from tests.factories import TrafficAccountFactory
from webhooks_app.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookTrafficAccount
from webhooks_app.services.delivery import (
    RETRY_SCHEDULE_SECONDS,
    backoff_seconds,
    delivery_claim,
    delivery_post,
    delivery_settle,
    parse_retry_after,
    retries_exhausted,
    retry_delay,
    webhook_deliver,
)
from webhooks_app.services.sweeper import webhook_sweep
from webhooks_app.tasks import deliver_webhook, sweep_webhooks

pytestmark = pytest.mark.django_db

URL = "https://93.184.215.14/hook"


# --- a real receiver on a local port -------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Receiver:
    url: str
    requests: list[dict] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        reply = receiver.replies.pop(0) if receiver.replies else Reply()
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver(settings):
    """A local HTTP receiver; loopback is allowed so the gateway may call it."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.receiver = Receiver(url=f"http://127.0.0.1:{server.server_port}/hook")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.receiver  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _production_policy(settings):
    settings.DEBUG = False
    settings.WEBHOOK_DENIED_NETWORKS = []
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_RETRY_FOR_SECONDS = 90000


# --- helpers -------------------------------------------------------------------------------------


def _webhook(customer, url: str = URL, triggers: list[str] | None = None) -> Webhook:
    return Webhook.objects.create(customer=customer, name="hook", url=url, triggers=triggers or ["Delivered"])


def _event(webhook: Webhook) -> WebhookDelivery:
    """A real Delivered event for ``webhook`` through the status-transition path."""
    account = TrafficAccountFactory(customer=webhook.customer, channel="sms")
    WebhookTrafficAccount.objects.create(webhook=webhook, traffic_account=account)
    conversation = Conversation.objects.create(traffic_account=account, user_identifier="+41751231234")
    message = Message.objects.create(
        customer=account.customer,
        traffic_account=account,
        conversation=conversation,
        channel="sms",
        direction=Message.OUTBOUND,
        destination="+41751231234",
        content={"sms": {"text": "hi"}},
        status=Status.SENT,
    )
    assert message_transition(message=message, status=Status.DELIVERED, source="provider")
    return WebhookDelivery.objects.get(webhook=webhook, message_id=message.id)


def _make_due(delivery: WebhookDelivery) -> None:
    """Let the scheduled time pass (the retry is in the row, so time passing is a row update)."""
    WebhookDelivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def _verify(secret: str, request: dict) -> dict:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return StandardWebhook(secret).verify(request["body"], headers)


# --- signing -------------------------------------------------------------------------------------


def test_the_event_is_posted_signed_and_verifies_with_standard_webhooks(customer, receiver):
    webhook = _webhook(customer, receiver.url)
    delivery = _event(webhook)

    result = webhook_deliver(delivery_id=delivery.id)

    assert (result.claimed, result.status) == (True, WebhookDelivery.SUCCEEDED)
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "omnichannel-gateway-webhooks/1"
    assert headers["webhook-id"] == str(delivery.id)
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 10
    assert headers["webhook-signature"].startswith("v1,") and " " not in headers["webhook-signature"]
    assert _verify(webhook.secret, request) == delivery.payload
    assert json.loads(request["body"])["eventId"] == str(delivery.id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 1, None)
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.status_code, attempt.error, attempt.response_excerpt) == (200, "", "ok")
    assert attempt.latency_ms > 0


def test_a_wrong_secret_does_not_verify(customer, receiver):
    webhook = _webhook(customer, receiver.url)
    webhook_deliver(delivery_id=_event(webhook).id)

    with pytest.raises(WebhookVerificationError):
        _verify(Webhook(customer=customer).secret, receiver.requests[0])  # a fresh, unrelated secret


def test_during_a_rotation_both_secrets_verify_and_afterwards_only_the_new_one(auth_client, receiver):
    webhook = _webhook(auth_client.customer, receiver.url)
    old_secret = webhook.secret
    new_secret = auth_client.post(f"/api/v1/Webhook/{webhook.id}/rotateSecret").json()["secret"]

    webhook_deliver(delivery_id=_event(webhook).id)

    during = receiver.requests[0]
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    assert _verify(old_secret, during) == _verify(new_secret, during)

    Webhook.objects.filter(id=webhook.id).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    webhook_deliver(delivery_id=_event(webhook).id)

    after = receiver.requests[1]
    assert len(after["headers"]["webhook-signature"].split(" ")) == 1
    _verify(new_secret, after)
    with pytest.raises(WebhookVerificationError):
        _verify(old_secret, after)


# --- retries -------------------------------------------------------------------------------------


@responses.activate
def test_a_5xx_is_retried_on_schedule_then_succeeds(customer):
    responses.post(URL, status=503, body="upstream unavailable")
    responses.post(URL, status=200, body="ok")
    delivery = _event(_webhook(customer))

    before = timezone.now()
    first = webhook_deliver(delivery_id=delivery.id)

    assert first.status == WebhookDelivery.PENDING
    assert before + timedelta(seconds=5) <= first.next_attempt_at <= timezone.now() + timedelta(seconds=6.1)
    assert webhook_deliver(delivery_id=delivery.id).claimed is False  # not due yet: no second POST
    assert len(responses.calls) == 1

    _make_due(delivery)
    second = webhook_deliver(delivery_id=delivery.id)

    assert second.status == WebhookDelivery.SUCCEEDED
    assert len(responses.calls) == 2
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", "error"))
    assert attempts == [(503, "HTTP 503"), (200, "")]
    # Both tries carry the same event id: the receiver can deduplicate.
    assert {call.request.headers["webhook-id"] for call in responses.calls} == {str(delivery.id)}


@responses.activate
def test_a_429_waits_at_least_as_long_as_retry_after_asks(customer):
    responses.post(URL, status=429, headers={"Retry-After": "120"})
    delivery = _event(_webhook(customer))

    result = webhook_deliver(delivery_id=delivery.id)

    assert result.status == WebhookDelivery.PENDING
    assert result.next_attempt_at >= timezone.now() + timedelta(seconds=119)
    assert WebhookAttempt.objects.get(delivery=delivery).status_code == 429


@responses.activate
def test_a_connection_error_is_retried(customer):
    responses.post(URL, body=requests.ConnectionError("connection refused"))
    delivery = _event(_webhook(customer))

    result = webhook_deliver(delivery_id=delivery.id)

    assert result.status == WebhookDelivery.PENDING
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert attempt.error.startswith("connection error: ConnectionError")


def test_a_receiver_slower_than_the_timeout_is_retried(customer, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.replies.append(Reply(delay=1.5))
    delivery = _event(_webhook(customer, receiver.url))

    started = time.monotonic()
    result = webhook_deliver(delivery_id=delivery.id)

    assert time.monotonic() - started < 1.4
    assert result.status == WebhookDelivery.PENDING
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.status_code, attempt.error) == (None, "timeout: no answer within 0.3s")


@responses.activate
def test_a_410_fails_at_once(customer):
    responses.post(URL, status=410, body="gone")
    delivery = _event(_webhook(customer))

    result = webhook_deliver(delivery_id=delivery.id)

    assert result.status == WebhookDelivery.FAILED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("failed", None)
    _make_due(delivery)
    assert webhook_deliver(delivery_id=delivery.id).claimed is False
    assert delivery.id not in webhook_sweep()
    assert len(responses.calls) == 1


def test_a_redirect_is_not_followed_and_fails(customer, receiver):
    receiver.replies.append(Reply(status=302, headers={"Location": receiver.url + "/elsewhere"}))
    delivery = _event(_webhook(customer, receiver.url))

    result = webhook_deliver(delivery_id=delivery.id)

    assert result.status == WebhookDelivery.FAILED
    assert [r["path"] for r in receiver.requests] == ["/hook"]
    assert "redirects are not followed" in WebhookAttempt.objects.get(delivery=delivery).error


@responses.activate
def test_retries_stop_once_the_schedule_covers_the_retry_window(customer, settings):
    settings.WEBHOOK_RETRY_FOR_SECONDS = 30  # 5s + 30s of schedule: the third failure is final
    responses.post(URL, status=500)
    delivery = _event(_webhook(customer))

    outcomes = []
    for _ in range(3):
        outcomes.append(webhook_deliver(delivery_id=delivery.id).status)
        _make_due(delivery)

    assert outcomes == ["pending", "pending", "failed"]
    assert WebhookAttempt.objects.filter(delivery=delivery).last().error == "HTTP 500; gave up after 3 attempts"
    assert webhook_deliver(delivery_id=delivery.id).claimed is False


def test_the_default_schedule_keeps_retrying_for_more_than_a_day(settings):
    settings.WEBHOOK_RETRY_FOR_SECONDS = 90000

    last = next(n for n in range(1, 100) if retries_exhausted(n))
    span = sum(backoff_seconds(n) for n in range(1, last))

    assert span >= 24 * 3600
    assert last <= 15  # and it does end
    assert [backoff_seconds(n) for n in range(1, 12)] == [*RETRY_SCHEDULE_SECONDS, 28800, 28800]


def test_retry_delay_adds_jitter_and_honours_retry_after():
    delays = {retry_delay(attempt=3, retry_after=None) for _ in range(50)}

    assert all(120 <= d <= 144 for d in delays) and len(delays) > 1
    assert retry_delay(attempt=1, retry_after=300) == 300
    assert retry_delay(attempt=1, retry_after=10**9) == 86400


def test_retry_after_is_read_as_seconds_or_an_http_date():
    later = timezone.now() + timedelta(seconds=90)

    assert parse_retry_after("42") == 42
    assert 85 <= parse_retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT")) <= 90
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --- the attempt log and redelivery through the API ----------------------------------------------


@responses.activate
def test_the_delivery_log_shows_each_attempt_newest_event_first(auth_client):
    responses.post(URL, status=503, body="busy")
    responses.post(URL, status=204)
    webhook = _webhook(auth_client.customer)
    older = _event(webhook)
    webhook_deliver(delivery_id=older.id)
    _make_due(older)
    webhook_deliver(delivery_id=older.id)
    newer = _event(webhook)

    body = auth_client.get(f"/api/v1/Webhook/{webhook.id}/deliveries").json()

    assert [d["eventId"] for d in body["results"]] == [str(newer.id), str(older.id)]
    logged = body["results"][1]
    assert (logged["status"], logged["eventType"], logged["nextAttemptAt"]) == ("Succeeded", "Delivered", None)
    assert logged["payload"] == older.payload
    # Customers see the status and a generic reason; the receiver's body stays with operators.
    assert [(a["statusCode"], a["error"]) for a in logged["attempts"]] == [
        (503, "The receiver answered with an error status."),
        (204, ""),
    ]
    assert all("responseExcerpt" not in a for a in logged["attempts"])
    assert WebhookAttempt.objects.filter(delivery=older, status_code=503).get().response_excerpt == "busy"
    assert all(a["latencyMs"] >= 0 and a["attemptedAt"].endswith("Z") for a in logged["attempts"])
    assert body["results"][0]["status"] == "Pending" and body["results"][0]["nextAttemptAt"] is not None


def test_the_delivery_log_pages_with_a_cursor_and_filters_by_status(auth_client):
    webhook = _webhook(auth_client.customer)
    events = [_event(webhook) for _ in range(3)]
    WebhookDelivery.objects.filter(id=events[0].id).update(status=WebhookDelivery.FAILED)

    first = auth_client.get(f"/api/v1/Webhook/{webhook.id}/deliveries?pageSize=2").json()
    second = auth_client.get(first["next"]).json()
    failed = auth_client.get(f"/api/v1/Webhook/{webhook.id}/deliveries?status=Failed").json()

    seen = [d["id"] for d in first["results"] + second["results"]]
    assert seen == [str(e.id) for e in reversed(events)]
    assert [d["id"] for d in failed["results"]] == [str(events[0].id)]


@responses.activate
def test_redeliver_sends_the_same_event_id_again(auth_client):
    responses.post(URL, status=200)
    webhook = _webhook(auth_client.customer)
    delivery = _event(webhook)
    webhook_deliver(delivery_id=delivery.id)

    response = auth_client.post(f"/api/v1/Webhook/{webhook.id}/deliveries/{delivery.id}/redeliver")

    assert response.status_code == 202
    assert (response.json()["eventId"], response.json()["status"]) == (str(delivery.id), "Pending")
    assert webhook_deliver(delivery_id=delivery.id).status == WebhookDelivery.SUCCEEDED
    assert [c.request.headers["webhook-id"] for c in responses.calls] == [str(delivery.id)] * 2
    assert [json.loads(c.request.body)["eventId"] for c in responses.calls] == [str(delivery.id)] * 2
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


def test_redeliver_of_a_pending_event_is_a_conflict(auth_client):
    webhook = _webhook(auth_client.customer)
    delivery = _event(webhook)

    response = auth_client.post(f"/api/v1/Webhook/{webhook.id}/deliveries/{delivery.id}/redeliver")

    assert response.status_code == 409
    assert response.json()["type"].endswith("delivery-pending")


def test_another_customers_delivery_cannot_be_seen_or_redelivered(auth_client, client_for):
    from tests.factories import CustomerFactory

    theirs = _webhook(CustomerFactory())
    delivery = _event(theirs)
    WebhookDelivery.objects.filter(id=delivery.id).update(status=WebhookDelivery.FAILED)

    assert auth_client.get(f"/api/v1/Webhook/{theirs.id}/deliveries").status_code == 404
    assert auth_client.post(f"/api/v1/Webhook/{theirs.id}/deliveries/{delivery.id}/redeliver").status_code == 404
    mine = _webhook(auth_client.customer)
    assert auth_client.post(f"/api/v1/Webhook/{mine.id}/deliveries/{delivery.id}/redeliver").status_code == 404
    assert WebhookDelivery.objects.get(id=delivery.id).status == WebhookDelivery.FAILED


# --- URL safety at delivery time -----------------------------------------------------------------


def test_an_address_denied_after_registration_fails_the_delivery_without_a_request(customer, receiver, settings):
    webhook = _webhook(customer, receiver.url)  # registered while loopback was allowed
    delivery = _event(webhook)
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    result = webhook_deliver(delivery_id=delivery.id)

    assert result.status == WebhookDelivery.FAILED
    assert receiver.requests == []
    error = WebhookAttempt.objects.get(delivery=delivery).error
    assert error.startswith("URL refused:") and "127.0.0.1 is in the denied network 127.0.0.0/8" in error


def test_a_private_receiver_is_refused_end_to_end_and_only_operators_see_why(
    auth_client, receiver, admin_client, settings
):
    # Registered while the operator allowed loopback; the allowance is withdrawn before the event.
    webhook = _webhook(auth_client.customer, receiver.url)
    delivery = _event(webhook)
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    deliver_webhook(str(delivery.id))  # the real task and transport

    assert receiver.requests == []
    body = auth_client.get(f"/api/v1/Webhook/{webhook.id}/deliveries").json()
    attempt = body["results"][0]["attempts"][0]
    assert body["results"][0]["status"] == "Failed"
    assert attempt == {
        "attemptedAt": attempt["attemptedAt"],
        "statusCode": None,
        "latencyMs": attempt["latencyMs"],
        "error": "The URL is not allowed: its host resolves to an address the gateway does not call.",
    }
    # A redelivery on demand is refused the same way and still reaches nothing.
    assert auth_client.post(f"/api/v1/Webhook/{webhook.id}/deliveries/{delivery.id}/redeliver").status_code == 202
    deliver_webhook(str(delivery.id))
    assert receiver.requests == []
    assert WebhookDelivery.objects.get(id=delivery.id).status == WebhookDelivery.FAILED
    # The operator's admin shows the address and the rule.
    page = admin_client.get(f"/admin/webhooks_app/webhookdelivery/{delivery.id}/change/").content.decode()
    assert "127.0.0.1 is in the denied network 127.0.0.0/8" in page


def test_a_redirect_location_and_body_are_not_shown_to_the_customer(auth_client, receiver):
    webhook = _webhook(auth_client.customer, receiver.url)
    delivery = _event(webhook)
    receiver.replies.append(Reply(status=302, body=b"internal secret page", headers={"Location": "http://10.0.0.7/x"}))

    webhook_deliver(delivery_id=delivery.id)

    shown = json.dumps(auth_client.get(f"/api/v1/Webhook/{webhook.id}/deliveries").json())
    assert "10.0.0.7" not in shown and "internal secret page" not in shown
    assert "redirects are not followed" in shown
    stored = WebhookAttempt.objects.get(delivery=delivery)
    assert "10.0.0.7" in stored.error and stored.response_excerpt == "internal secret page"


def test_the_connection_itself_refuses_a_denied_address(receiver, settings):
    # The check at connect time is what stops a DNS answer that changes between check and connect.
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    with pytest.raises(WebhookUrlRefused, match="localhost resolves to a refused address"):
        webhook_session().post(receiver.url.replace("127.0.0.1", "localhost"), data=b"{}", timeout=2)

    assert receiver.requests == []


def test_an_inactive_webhook_gets_nothing(customer, receiver):
    webhook = _webhook(customer, receiver.url)
    delivery = _event(webhook)
    Webhook.objects.filter(id=webhook.id).update(is_active=False)

    result = webhook_deliver(delivery_id=delivery.id)

    assert result.status == WebhookDelivery.FAILED
    assert receiver.requests == []
    assert "inactive" in WebhookAttempt.objects.get(delivery=delivery).error


# --- one POST per attempt, whatever the duplicates -----------------------------------------------


@responses.activate
def test_a_duplicate_task_after_success_posts_nothing(customer):
    responses.post(URL, status=200)
    delivery = _event(_webhook(customer))

    deliver_webhook(str(delivery.id))
    deliver_webhook(str(delivery.id))

    assert len(responses.calls) == 1
    assert WebhookDelivery.objects.get(id=delivery.id).attempts == 1


def test_a_duplicate_task_during_an_attempt_posts_nothing(customer, receiver):
    # The first worker has claimed the event and is mid-POST: this is the state every duplicate
    # task (or sweeper run) sees, because the claim is committed before the request goes out.
    webhook = _webhook(customer, receiver.url)
    delivery = _event(webhook)
    in_flight = delivery_claim(delivery_id=delivery.id)
    assert in_flight is not None

    duplicate = webhook_deliver(delivery_id=delivery.id)
    swept = webhook_sweep()
    first = delivery_settle(
        delivery=in_flight,
        started_at=timezone.now(),
        result=delivery_post(webhook=in_flight.webhook, delivery=in_flight),
    )

    assert duplicate.claimed is False
    assert delivery.id not in swept
    assert first.status == WebhookDelivery.SUCCEEDED
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


# --- the sweeper ---------------------------------------------------------------------------------


def test_the_sweeper_publishes_a_due_delivery_whose_publish_was_lost(customer, django_capture_on_commit_callbacks):
    delivery = _event(_webhook(customer))
    assert delivery.id not in webhook_sweep()  # just published by the fan-out: left alone
    WebhookDelivery.objects.filter(id=delivery.id).update(queued_until=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        swept = webhook_sweep()

    assert delivery.id in swept
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.queued_until > timezone.now()
    assert delivery.id not in webhook_sweep()  # queued now: not published twice


def test_the_sweeper_skips_deliveries_not_yet_due_and_settled_ones(customer):
    webhook = _webhook(customer)
    later, done = _event(webhook), _event(webhook)
    WebhookDelivery.objects.filter(id=later.id).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5), queued_until=None
    )
    WebhookDelivery.objects.filter(id=done.id).update(status=WebhookDelivery.SUCCEEDED, queued_until=None)

    swept = webhook_sweep()

    assert later.id not in swept and done.id not in swept


@responses.activate
def test_a_claim_whose_worker_died_is_swept_again_after_its_lease(customer):
    responses.post(URL, status=200)
    delivery = _event(_webhook(customer))
    assert delivery_claim(delivery_id=delivery.id) is not None  # ... and the worker dies here
    assert delivery.id not in webhook_sweep()  # the lease still holds

    WebhookDelivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    assert delivery.id in webhook_sweep()
    assert webhook_deliver(delivery_id=delivery.id).status == WebhookDelivery.SUCCEEDED
    assert len(responses.calls) == 1


def test_the_tasks_have_their_public_names():
    assert (deliver_webhook.name, sweep_webhooks.name) == ("webhooks.deliver", "webhooks.sweep")


@responses.activate
def test_every_attempt_is_counted_by_outcome_on_metrics(customer, client):
    from prometheus_client import REGISTRY

    def counted(outcome: str) -> float:
        return REGISTRY.get_sample_value("gateway_webhook_deliveries_total", {"outcome": outcome}) or 0.0

    responses.post(URL, status=503)
    responses.post(URL, status=200)
    responses.post(URL, status=410)
    before = {o: counted(o) for o in ("retry", "succeeded", "failed")}
    delivery = _event(_webhook(customer))

    webhook_deliver(delivery_id=delivery.id)
    _make_due(delivery)
    webhook_deliver(delivery_id=delivery.id)
    webhook_deliver(delivery_id=_event(_webhook(customer)).id)

    assert {o: counted(o) - before[o] for o in before} == {"retry": 1, "succeeded": 1, "failed": 1}
    assert 'gateway_webhook_deliveries_total{outcome="failed"}' in client.get("/metrics").content.decode()
