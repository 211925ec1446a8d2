"""scripts/services.sh: a PostgreSQL server that already answers gets the configured database
created when it does not hold it yet, so `make run` migrates instead of failing on its first
connection (a shared server, or a new database name in DATABASE_URL)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _server_params() -> dict[str, object]:
    db = connection.settings_dict
    return {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"],
            "dbname": "postgres", "autocommit": True}


def _database_exists(name: str) -> bool:
    with psycopg.connect(**_server_params()) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


@pytest.fixture
def new_database_name():
    name = f"services_sh_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(**_server_params()) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _services(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/services.sh"],  # noqa: S607 - bash from PATH
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL},
    )


def test_a_missing_database_on_a_running_server_is_created_once(new_database_name):
    db = connection.settings_dict
    url = f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'])}@{db['HOST']}:{db['PORT']}/{new_database_name}"
    assert not _database_exists(new_database_name)

    first = _services(url)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"created database {new_database_name}" in first.stdout
    assert _database_exists(new_database_name)

    again = _services(url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "created database" not in again.stdout
