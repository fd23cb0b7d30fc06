"""The figures page in a real browser: a manager filters by a team and sees the figures
change, the trend charts are drawn from their tables (which stay), a number leads to the
cases behind it, and on a tablet the page fits the screen and passes axe-core."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser


def test_manager_filters_follows_a_number_and_reads_the_charts(
    users,
    rounds,  # noqa: F811  (the fixture)
    live_server,
    page,
):
    page.set_viewport_size({"width": 768, "height": 1024})  # a tablet
    page.goto(f"{live_server}/admin/sign-in")
    page.get_by_label("Email").fill("manager@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/dashboard/?period=30d")
    response_rate = page.locator("#figure-response .figure")
    assert response_rate.inner_text() == "90%"  # 36 of 40 delivered
    for key in ("csat", "response", "recovery"):
        assert page.locator(f"#trend-{key} tbody tr").count() == 12
    assert page.locator("[data-chart-for]:not([hidden]) canvas").count() == 3  # Chart.js drew
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()

    page.get_by_label("Team").select_option("South")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert "team=South" in page.url
    assert response_rate.inner_text() == "0%"  # South's 4 texts went unanswered
    assert page.locator("#by-agent tbody th").all_inner_texts() == ["bo"]

    link = page.locator("#funnel a").first
    href = link.get_attribute("href")
    assert re.search(r"/dashboard/cases\?metric=closed&.*team=South", href)
    with page.expect_navigation() as navigation:
        link.click()
    assert navigation.value.status == 200 and "metric=closed" in page.url


def test_without_chart_js_the_trend_tables_show(users, rounds, live_server, page):  # noqa: F811
    page.route("**/static/vendor/chart.umd.min.js", lambda route: route.fulfill(status=404))
    page.goto(f"{live_server}/admin/sign-in")
    page.get_by_label("Email").fill("manager@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/dashboard/?period=30d")
    assert page.locator("[data-chart-for]:not([hidden])").count() == 0
    assert page.locator("#trend-csat").is_visible()
    this_week = page.locator("#trend-response tbody tr").last.locator("td").first
    assert this_week.inner_text() == "78%"  # 14 of the last 7 days' 18 deliveries answered
