"""The Viber file-size probe fetches a customer's URL: it goes through the address-checked
transport (no private networks, no redirects), and no session keeps another site's cookies."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
import responses

from channels_app.providers.base import OutboundMessage, ProviderAccount, ProviderRejected
from channels_app.providers.http import call_provider, pooled_session
from channels_app.providers.viber.adapter import ViberAdapter
from gateway.safe_transport import safe_session
from tests.local_http import LocalServer, Route, local_server

SEND_URL = "https://chatapi.viber.com/pa/send_message"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


@pytest.fixture
def viber() -> Iterator[responses.RequestsMock]:
    """Viber itself is faked; the file host is the real local server."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru("http://127.0.0.1")
        mock.post(SEND_URL, json={"status": 0, "status_message": "ok", "message_token": 5741311803571721087})
        yield mock


def _send_file(url: str) -> None:
    adapter = ViberAdapter(
        ProviderAccount(id=uuid4(), channel="viber", base_url="https://chatapi.viber.com",
                        credentials={"auth_token": "t"}, display_name="Shop")
    )
    adapter.send(OutboundMessage(id=uuid4(), destination="01234567890A=", content={"file": {"mediaUrl": url}}))


def test_a_file_on_a_private_address_is_refused_without_a_request(server, viber, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    server.routes["/doc.pdf"] = Route(headers={"Content-Length": "1234"})

    with pytest.raises(ProviderRejected) as error:
        _send_file(f"{server.base_url}/doc.pdf")

    assert error.value.code == "media_url_refused"
    assert server.seen == []
    assert not any(call.request.url == SEND_URL for call in viber.calls)


def test_an_operator_allowed_network_is_probed(server, viber, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server.routes["/doc.pdf"] = Route(headers={"Content-Length": "1234"})

    _send_file(f"{server.base_url}/doc.pdf")

    assert [(method, path) for method, path, _ in server.seen] == [("HEAD", "/doc.pdf")]
    sent = [call for call in viber.calls if call.request.url == SEND_URL]
    assert b'"size": 1234' in sent[0].request.body or b'"size":1234' in sent[0].request.body


def test_redirects_are_not_followed(server, viber, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server.routes["/doc.pdf"] = Route(status=302, headers={"Location": "/internal/secret.pdf"}, body=b"moved")
    server.routes["/internal/secret.pdf"] = Route(headers={"Content-Length": "99"})

    with pytest.raises(ProviderRejected) as error:
        _send_file(f"{server.base_url}/doc.pdf")

    assert error.value.code == "file_size_unknown"
    assert server.paths() == ["/doc.pdf", "/doc.pdf"]  # HEAD and GET, never the Location


@pytest.mark.parametrize("session_of", [pooled_session, safe_session], ids=["provider", "customer-url"])
def test_sessions_keep_no_cookies(server, settings, session_of):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server.routes["/a"] = Route(headers={"Set-Cookie": "tenant=alice; Path=/"}, body=b"{}")
    server.routes["/b"] = Route(body=b"{}")
    session = session_of()

    if session_of is pooled_session:
        call_provider(session, "GET", f"{server.base_url}/a")
        call_provider(session, "GET", f"{server.base_url}/b")
    else:
        session.get(f"{server.base_url}/a", allow_redirects=False, timeout=2)
        session.get(f"{server.base_url}/b", allow_redirects=False, timeout=2)

    assert len(session.cookies) == 0
    assert "Cookie" not in server.seen[1][2]
