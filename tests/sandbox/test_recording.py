"""Recording of provider requests, the filtered listing, counters and resets."""

from __future__ import annotations

import requests

from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import load_fixture

MITTO_KEY = {"X-Mitto-API-Key": "recorded-key"}


def _sms(sandbox: LocalSandbox, http: requests.Session, to: str, headers: dict[str, str] = MITTO_KEY) -> dict:
    return http.post(f"{sandbox.url}/sms", json=dict(load_fixture("mitto_sms.json"), to=to), headers=headers).json()


def test_a_send_is_recorded_with_what_the_adapter_sent(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    sent = _sms(sandbox, http, "+41790000001")

    (record,) = control.requests()
    assert record["channel"] == "sms"
    assert record["method"] == "POST"
    assert record["path"] == "/sms"
    assert record["headers"]["x-mitto-api-key"] == "recorded-key"
    assert record["headers"]["content-type"] == "application/json"
    assert record["body"] == dict(load_fixture("mitto_sms.json"), to="+41790000001")
    assert record["destination"] == "41790000001"
    assert record["providerId"] == sent["id"]
    assert record["outcome"] == "success"
    assert record["receivedAt"].endswith("Z")


def test_refused_requests_are_recorded_too(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    _sms(sandbox, http, "41790000001", headers={"X-Mitto-API-Key": "invalid"})
    control.set_behaviour("41790000002", "fail")
    _sms(sandbox, http, "41790000002")

    unauthorized, failed = control.requests()
    assert (unauthorized["outcome"], unauthorized["status"]) == ("unauthorized", 401)
    assert failed["outcome"] == "fail"
    assert "providerId" not in failed


def test_listing_filters_by_channel_and_destination_newest_last(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    for to in ("41790000001", "41790000002", "41790000001"):
        _sms(sandbox, http, to)
    http.post(f"{sandbox.url}/bot1:t/sendMessage", json={"chat_id": 41790000001, "text": "x"})

    by_destination = control.requests(channel="sms", destination="+41790000001")
    newest = control.requests(limit=2)
    telegram = control.requests(channel="telegram")

    assert [r["channel"] for r in by_destination] == ["sms", "sms"]
    assert [r["destination"] for r in newest] == ["41790000001", "41790000001"]
    assert [r["channel"] for r in newest] == ["sms", "telegram"]
    assert len(telegram) == 1


def test_stats_count_per_channel_and_outcome(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    _sms(sandbox, http, "41790000001")
    _sms(sandbox, http, "41790000001")
    control.set_behaviour("41790000002", "throttle")
    _sms(sandbox, http, "41790000002")
    http.post(f"{sandbox.url}/pa/send_message", json=load_fixture("viber_text_message.json"),
              headers={"X-Viber-Auth-Token": "t"})

    stats = control.stats()

    assert stats["requests"] == {"sms": 3, "viber": 1, "total": 4}
    assert stats["outcomes"]["sms"] == {"success": 2, "throttle": 1}
    assert stats["outcomes"]["viber"] == {"success": 1}


def test_deleting_requests_resets_recording_and_counters(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    _sms(sandbox, http, "41790000001")

    control.clear_requests()

    assert control.requests() == []
    assert control.stats()["requests"] == {"total": 0}


def test_recording_is_capped_to_the_newest(http: requests.Session) -> None:
    with LocalSandbox(record_limit=3) as small:
        for index in range(5):
            _sms(small, http, f"4179000000{index}")

        assert small.client is not None
        records = small.client.requests()
        assert [r["destination"] for r in records] == ["41790000002", "41790000003", "41790000004"]
        assert small.client.stats()["requests"]["sms"] == 5
