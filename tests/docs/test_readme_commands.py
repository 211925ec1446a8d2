"""Every manage.py command the README shows works as written in a new shell after `make run`:
nothing exported, only the .env file `make run` writes (scripts/write_env.sh)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from accounts_app.models import Customer, TrafficAccount

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

pytestmark = pytest.mark.django_db(transaction=True)


# The one placeholder the README's commands may use: the id `create_traffic_account` printed
# (its last line), which the README tells the reader to take from there.
TRAFFIC_ACCOUNT_PLACEHOLDER = "<trafficAccountId>"


def readme_manage_commands() -> list[str]:
    """manage.py lines of the README's sh blocks, continuation lines joined, in README order,
    exactly as a reader would paste them."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            if "manage.py" in line and not line.lstrip().startswith("#"):
                commands.append(line.strip())
    return commands


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = f"{quote(db['USER'])}:{quote(db['PASSWORD'])}"
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def dotenv(tmp_path: Path) -> Path:
    """The .env `make run` would write, pointing at this test's database and Redis."""
    target = tmp_path / ".env"
    values = {
        "DEBUG": "true",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PORT": "8000",
        "SANDBOX_PORT": "8025",
        "SANDBOX_URL": "http://127.0.0.1:8025",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    }
    subprocess.run(  # noqa: S603 - our own script
        ["bash", "scripts/write_env.sh", str(target)],  # noqa: S607 - bash from PATH
        cwd=ROOT, env={"PATH": os.defpath, **values}, check=True, capture_output=True,
    )
    return target


def test_the_readme_shows_the_provisioning_commands():
    names = [shlex.split(command)[2] for command in readme_manage_commands()]
    assert {"create_customer", "create_traffic_account"} <= set(names)


def test_readme_manage_commands_run_with_only_the_dotenv_file(dotenv: Path):
    assert "DEBUG='true'" in dotenv.read_text()
    clean_env = {"PATH": os.defpath, "ENV_FILE": str(dotenv)}  # ENV_FILE: this test's .env, not the checkout's
    created_account = ""
    # `make run` provisions the demo customer and its accounts before anyone types a command.
    demo = subprocess.run(
        [".venv/bin/python", "manage.py", "provision_demo"],
        cwd=ROOT, env=clean_env, capture_output=True, text=True, check=False, timeout=120,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    for command in readme_manage_commands():
        if TRAFFIC_ACCOUNT_PLACEHOLDER in command:
            assert created_account, f"{command}: no traffic account was created before it"
            command = command.replace(TRAFFIC_ACCOUNT_PLACEHOLDER, created_account)
        result = subprocess.run(  # noqa: S603 - commands from our own README
            shlex.split(command), cwd=ROOT, env=clean_env, capture_output=True, text=True, check=False, timeout=120
        )
        assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"
        if " create_traffic_account " in command:
            created_account = result.stdout.strip().splitlines()[-1]
    assert Customer.objects.filter(email="ops@example.com").exists()
    assert TrafficAccount.objects.filter(customer__email="ops@example.com", channel="telegram").exists()
    assert Customer.objects.get(email="admin@example.com").is_staff
    # The README's deactivate commands ran against what it created.
    assert not TrafficAccount.objects.get(id=created_account).is_active
    assert not Customer.objects.get(email="ops@example.com").is_active


def test_without_the_dotenv_file_debug_is_off_and_default_secrets_are_refused(tmp_path: Path):
    result = subprocess.run(
        [".venv/bin/python", "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, check=False,
        env={"PATH": os.defpath, "ENV_FILE": str(tmp_path / "missing.env")},
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
