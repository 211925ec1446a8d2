"""Static files are served by the app itself (WhiteNoise) with DEBUG off, as under gunicorn, and
Swagger UI comes from the pinned sidecar copy: no page depends on a CDN."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

SWAGGER_ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def test_admin_stylesheet_is_served_with_debug_off(client, settings):
    settings.DEBUG = False

    response = client.get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"body" in b"".join(response.streaming_content)


def test_swagger_ui_loads_its_assets_from_the_app_not_a_cdn(client, settings):
    settings.DEBUG = False

    page = client.get("/api/docs/").content.decode()
    assets = [url for url in SWAGGER_ASSET.findall(page) if not url.startswith("#")]

    assert "cdn" not in page.lower() and "jsdelivr" not in page.lower() and "@latest" not in page
    # Hashed (swagger-ui-bundle.<hash>.js) once collectstatic ran, plain before.
    assert any(re.search(r"/swagger-ui-bundle(\.[0-9a-f]{12})?\.js$", url) for url in assets), assets
    assert all(url.startswith("/static/") or url.startswith("/api/") for url in assets), assets
    for url in assets:
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url


def test_collected_files_are_served_by_their_hashed_names(settings, tmp_path):
    """What the Dockerfile and `make run` do: collectstatic writes hashed, compressed copies, the
    pages link those, and WhiteNoise serves them (here without the app folders as a fallback)."""
    settings.STATIC_ROOT = tmp_path
    settings.DEBUG = False
    settings.WHITENOISE_USE_FINDERS = False
    call_command("collectstatic", "--noinput", "-v0")
    client = Client()  # a new handler, so WhiteNoise reads the new STATIC_ROOT

    login_page = client.get("/admin/login/").content.decode()
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login_page)

    assert stylesheet, login_page
    response = client.get(stylesheet.group(1), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
