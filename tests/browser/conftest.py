"""A live gateway whose static files are served by the app itself (WhiteNoise), as under
gunicorn, and Debian's Chromium driven by Playwright against it.

pytest-django's ``live_server`` answers /static/ with Django's own static handler before the app
sees the request; the server here hands every request to the WSGI app, so a page that loads in
these tests loads the same way in production.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test.testcases import LiveServerThread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _app_serves_everything(application: Any) -> Any:
    return application


@pytest.fixture
def gateway_url(transactional_db) -> Iterator[str]:
    server = LiveServerThread("127.0.0.1", static_handler=_app_serves_everything)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.terminate()


@dataclass
class Traffic:
    """Every request the browser made and every answer of 400 or more, to assert on."""

    requests: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def hosts(self) -> set[str]:
        return {urlsplit(url).netloc for url in self.requests if not url.startswith(("data:", "blob:"))}


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, Traffic]]:
    """A page in a fresh Chromium profile, with every request and failed response recorded."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing at /usr/bin/chromium: `make browser` installs it")
    from playwright.sync_api import sync_playwright

    traffic = Traffic()
    profile = tempfile.mkdtemp(prefix="gateway-browser-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 900},
            )
            context.on("request", lambda request: traffic.requests.append(request.url))
            context.on(
                "response",
                lambda response: response.status >= 400
                and traffic.failures.append(f"{response.status} {response.url}"),
            )
            context.on("requestfailed", lambda request: traffic.failures.append(f"failed {request.url}"))
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(10_000)
            try:
                yield page, traffic
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
