"""The pages work under their Content-Security-Policy in a real browser: the survey page's
script shows the negative questions and the answer goes through, the dashboard's Chart.js
draws its charts, the template editor's email preview keeps the email's inline styles; and
the browser reports no violation of the policy on any of them."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_in_as
from tests.support.links import link_tokens

pytestmark = pytest.mark.browser

# Each new document records the violations the browser reports to it (added before the page's
# own scripts; Playwright's init scripts are not subject to the page's policy).
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, and what the browser said about the policy on it (console errors included)."""
    said = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            said.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page, said


def violations(page) -> list[str]:
    return page.evaluate("window.violations")


def test_the_survey_page_works_under_its_policy(client, seeded, live_server, watched):
    page, said = watched
    token = link_tokens(client, seeded["auth"])["survey"]
    response = page.goto(f"{live_server}/s/{token}")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    negative = page.locator("#negative")
    expect(negative).to_be_hidden()  # survey.js ran: no negative score picked yet
    page.get_by_role("radio", name=re.compile(r"^2\b")).check()
    expect(negative).to_be_visible()
    assert violations(page) == []
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url("**/thanks")
    assert violations(page) == [] and said == []


def test_the_dashboard_draws_its_charts_under_its_policy(users, rounds, live_server, watched):
    page, said = watched
    page.set_viewport_size({"width": 1024, "height": 900})
    sign_in_as(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard/?period=30d")
    charts = page.locator("[data-chart-for]:not([hidden]) canvas")
    expect(charts).to_have_count(3)
    for canvas in charts.all():  # drawn: sized by Chart.js and not blank
        assert canvas.evaluate("c => c.width > 0 && c.height > 0")
        assert canvas.evaluate(
            "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v)"
        )
    filters = page.locator(".filters").first  # the moved stylesheet's rules apply
    assert filters.evaluate("e => getComputedStyle(e).display") == "flex"
    assert violations(page) == [] and said == []


def test_the_template_editor_preview_keeps_the_emails_styles(users, seeded, live_server, watched):
    page, said = watched
    sign_in_as(page, live_server, "lead@example.com")
    page.goto(f"{live_server}/admin/templates")
    with page.expect_navigation():
        page.get_by_role("link", name="Thank you", exact=True).click()
    body = page.frame_locator("#preview-html").locator("body")
    expect(body).to_have_css("background-color", "rgb(244, 245, 247)")  # the email's inline style
    assert violations(page) == [] and said == []
