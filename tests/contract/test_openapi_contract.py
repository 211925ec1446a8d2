"""The OpenAPI document is the contract: schemathesis, run against a live server with a real
customer (a traffic account per channel, a real JWT), finds no server error, no undocumented
status or body, no schema-valid request refused and no schema-violating request accepted.

The run is seeded and derandomised so a failure reproduces, and bounded (examples per operation)
so it stays within a few minutes on a loaded two-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts_app.tokens import token_issue
from tests.factories import CustomerFactory, TrafficAccountFactory

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
SEED = 20261202
CONFIG = Path(__file__).with_name("schemathesis.toml")
CHANNELS = ("sms", "whatsapp", "viber", "gbm", "telegram")


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_nothing(live_server, tmp_path):
    customer = CustomerFactory()
    for channel in CHANNELS:
        TrafficAccountFactory(customer=customer, channel=channel)
    token = token_issue(customer=customer).token
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{live_server.url}/api/schema/",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-deterministic",
        "--workers",
        "1",
        "--no-color",
        "--header",
        f"Authorization: Bearer {token}",
        "--request-timeout",
        "30",
    ]

    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)  # noqa: S603

    (tmp_path / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"see {tmp_path / 'schemathesis.txt'}\n" + result.stdout[-20000:]
