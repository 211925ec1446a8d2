"""Mitto SMS: /sms and /smsbulk, key check, validation codes, DLRs, 2-way inbound."""

from __future__ import annotations

import re

import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.local import LocalSandbox
from tests.sandbox.conftest import Receiver, load_fixture

KEY = {"X-Mitto-API-Key": "sandbox-key"}


def test_sms_success_has_mittos_shape(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    response = http.post(f"{sandbox.url}/sms", json=load_fixture("mitto_sms.json"), headers=KEY)

    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["to"] == "41791234567"
    assert body["responseCode"] == 0
    assert body["responseText"] == "SMS sent"
    assert body["textLength"] == len("Hi, this is test msg.")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["timestamp"])
    assert "test" not in body


def test_test_mode_is_echoed(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    response = http.post(f"{sandbox.url}/sms", json=dict(load_fixture("mitto_sms.json"), test=True), headers=KEY)

    assert response.json()["test"] is True


@pytest.mark.parametrize("headers", [{}, {"X-Mitto-API-Key": "invalid"}])
def test_missing_or_invalid_key_is_401(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, headers: dict[str, str]
) -> None:
    response = http.post(f"{sandbox.url}/sms", json=load_fixture("mitto_sms.json"), headers=headers)

    assert response.status_code == 401


@pytest.mark.parametrize(("missing", "code"), [("from", 5), ("to", 7), ("text", 3)])
def test_missing_fields_get_mittos_response_codes(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session, missing: str, code: int
) -> None:
    body = load_fixture("mitto_sms.json")
    del body[missing]

    response = http.post(f"{sandbox.url}/sms", json=body, headers=KEY)

    assert response.status_code == 400
    assert response.json()["responseCode"] == code


def test_invalid_receiver_and_type(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    bad_receiver = http.post(f"{sandbox.url}/sms", json=dict(load_fixture("mitto_sms.json"), to="12ab"), headers=KEY)
    bad_type = http.post(f"{sandbox.url}/sms", json=dict(load_fixture("mitto_sms.json"), type="morse"), headers=KEY)

    assert bad_receiver.json()["responseCode"] == 8
    assert bad_type.json()["responseCode"] == 2


def test_bulk_answers_per_recipient(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    control.set_behaviour("41790000002", "fail", error_code=8)
    body = dict(load_fixture("mitto_sms.json"), to=["41790000001", "+41790000002"])

    response = http.post(f"{sandbox.url}/smsbulk", json=body, headers=KEY)

    assert response.status_code == 200
    payload = response.json()
    assert payload["responseCode"] == 0
    accepted, refused = payload["messages"]
    assert accepted["to"] == "41790000001"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", accepted["id"])
    assert refused == {"to": "41790000002", "responseCode": 8, "responseText": "Invalid receiver"}


def test_bulk_accepts_comma_separated_receivers(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session
) -> None:
    body = dict(load_fixture("mitto_sms.json"), to="41790000001,41790000003")

    response = http.post(f"{sandbox.url}/smsbulk", json=body, headers=KEY)

    assert [m["to"] for m in response.json()["messages"]] == ["41790000001", "41790000003"]


def test_dlr_goes_to_the_callback_url_of_the_send(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    callback = f"{inbox.url}/callbacks/sms/dlr?token=signed-token"
    body = dict(load_fixture("mitto_sms.json"), callback=callback)

    sent = http.post(f"{sandbox.url}/sms", json=body, headers=KEY).json()

    (dlr,) = inbox.wait_for(1)
    assert dlr.path == "/callbacks/sms/dlr"
    assert dlr.query == {"token": "signed-token"}
    assert dlr.headers["content-type"] == "application/json"
    assert dlr.json() == {"messageId": sent["id"], "status": "Delivered", "errorcode": "0"}


@pytest.mark.parametrize(("report", "status", "errorcode"), [("failed", "Failed", "34"), ("read", "Delivered", "0")])
def test_dlr_follows_the_report_behaviour(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session,
    report: str, status: str, errorcode: str,
) -> None:
    control.set_behaviour("41791234567", "success", report=report, error_code=34)
    body = dict(load_fixture("mitto_sms.json"), callback=f"{inbox.url}/dlr")

    sent = http.post(f"{sandbox.url}/sms", json=body, headers=KEY).json()

    (dlr,) = inbox.wait_for(1)
    assert dlr.json() == {"messageId": sent["id"], "status": status, "errorcode": errorcode}


def test_bulk_sends_one_dlr_per_receiver_to_the_call_callback_url(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver, http: requests.Session
) -> None:
    body = dict(load_fixture("mitto_sms.json"), to="41790000001,41790000003",
                callback=f"{inbox.url}/callbacks/sms/dlr-bulk?token=account-token")

    sent = http.post(f"{sandbox.url}/smsbulk", json=body, headers=KEY).json()

    dlrs = inbox.wait_for(2)
    assert {d.path for d in dlrs} == {"/callbacks/sms/dlr-bulk"}
    assert all(d.query == {"token": "account-token"} for d in dlrs)
    assert sorted(d.json()["messageId"] for d in dlrs) == sorted(m["id"] for m in sent["messages"])
    assert all(d.json()["status"] == "Delivered" for d in dlrs)


@pytest.mark.parametrize(
    ("changes", "headers", "status", "code"),
    [
        ({"from": ""}, KEY, 400, 5),
        ({"to": ""}, KEY, 400, 7),
        ({"text": ""}, KEY, 400, 3),
        ({"to": "41790000001,12ab"}, KEY, 400, 8),
        ({}, {"X-Mitto-API-Key": "invalid"}, 401, None),
        ({}, {}, 401, None),
    ],
)
def test_bulk_refuses_what_mitto_refuses(
    sandbox: LocalSandbox, control: SandboxClient, http: requests.Session,
    changes: dict, headers: dict, status: int, code: int | None,
) -> None:
    body = dict(load_fixture("mitto_sms.json"), to="41790000001,41790000003") | changes

    response = http.post(f"{sandbox.url}/smsbulk", json=body, headers=headers)

    assert response.status_code == status
    assert response.json().get("responseCode") == code
    assert control.stats()["callbacksPending"] == 0


def test_no_callback_url_means_no_dlr(sandbox: LocalSandbox, control: SandboxClient, http: requests.Session) -> None:
    http.post(f"{sandbox.url}/sms", json=load_fixture("mitto_sms.json"), headers=KEY)

    assert control.stats()["callbacksPending"] == 0


def test_inbound_sms_is_forwarded_to_the_given_url(
    sandbox: LocalSandbox, control: SandboxClient, inbox: Receiver
) -> None:
    url = f"{inbox.url}/callbacks/sms/inbound?token=inbound-token"

    control.inject_inbound("sms", account=url, sender="+41791112233", text="STOP", to="41798765432")

    (inbound,) = inbox.wait_for(1)
    assert inbound.query == {"token": "inbound-token"}
    body = inbound.json()
    assert {k: body[k] for k in ("from", "to", "text")} == {"from": "41791112233", "to": "41798765432", "text": "STOP"}
    assert body["id"]
