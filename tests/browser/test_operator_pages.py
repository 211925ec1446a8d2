"""The operator's pages in a real browser: the admin styled and working, the delivery dashboard
drawing its charts, and Swagger UI rendering the API, with every file from the gateway itself."""

from __future__ import annotations

import os
import re

import pytest
from django.core.management import call_command

from accounts_app.models import Customer
from tests.browser.seed import seed_last_hour

pytestmark = pytest.mark.browser

OPERATOR = ("ops@example.com", "operator-passphrase")


@pytest.fixture
def accounts(gateway_url):
    """An operator (made as the README says) and an hour of traffic, written before the browser
    starts: Playwright's event loop would make Django refuse database calls in this thread."""
    call_command("create_customer", "--email", OPERATOR[0], "--password", OPERATOR[1], "--staff")
    return seed_last_hour(Customer.objects.get(email=OPERATOR[0]))


def test_admin_dashboard_and_swagger_load_every_file_from_the_gateway(gateway_url, accounts, browser_page):
    page, traffic = browser_page

    page.goto(f"{gateway_url}/admin/login/?next=/admin/")
    page.fill("#id_username", OPERATOR[0])
    page.fill("#id_password", OPERATOR[1])
    page.click("input[type=submit]")
    page.wait_for_url(f"{gateway_url}/admin/")
    # base.css applied: the header has the admin's colour, not the browser's default white.
    assert page.eval_on_selector("#header", "e => getComputedStyle(e).backgroundColor") not in ("", "rgba(0, 0, 0, 0)")
    assert page.is_visible("text=Webhook deliveries")
    assert page.is_visible("a[href='/admin/dashboard/']")

    page.goto(f"{gateway_url}/admin/accounts_app/trafficaccount/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == len(accounts)
    assert page.is_visible("text=Support bot")
    assert page.locator("select[name=action] option[value=sync_account_templates]").count() == 1

    page.click("a[href='/admin/']")
    page.click("a[href='/admin/dashboard/']")
    page.wait_for_selector("svg.delivery-chart")
    charts = page.locator("svg.delivery-chart")
    assert charts.count() == 1 + 3 + 3  # overall, per channel, per account
    for index in range(charts.count()):
        assert charts.nth(index).is_visible()
    points = page.locator("svg.delivery-chart circle.point-delivered")
    assert points.count() > 50
    box = points.first.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    assert page.locator("svg.delivery-chart polyline.series-accepted").first.is_visible()
    rate = page.locator("section.dashboard-panel").first.locator("td.delivery-rate").inner_text()
    assert re.fullmatch(r"\d+ %", rate), rate
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        page.screenshot(path=os.environ["DASHBOARD_SCREENSHOT"], full_page=False)

    page.select_option("select[name=channel]", "whatsapp")
    page.click("#dashboard-filters input[type=submit]")
    page.wait_for_url(re.compile(r".*channel=whatsapp.*"))
    assert page.locator("svg.delivery-chart").count() == 3
    assert page.locator("svg.delivery-chart circle.point-read").count() > 0

    page.goto(f"{gateway_url}/api/docs/")
    page.wait_for_selector(".opblock", state="visible")
    assert page.locator(".opblock").count() > 20
    assert page.locator(".opblock-summary-path", has_text="/api/v1/Message/send").first.is_visible()

    assert traffic.failures == []
    assert traffic.hosts() == {gateway_url.removeprefix("http://")}, sorted(set(traffic.requests))
    stylesheets = [url for url in traffic.requests if url.endswith(".css")]
    scripts = [url for url in traffic.requests if url.endswith(".js")]
    assert any("/static/admin/css/base" in url for url in stylesheets), stylesheets
    assert any("swagger-ui-bundle" in url for url in scripts), scripts
