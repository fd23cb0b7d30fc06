"""Two-factor sign-in in a real browser, on a tablet: a lead turns it on from their own page
(the QR code shows, under the page's security policy), keeps the recovery codes, signs out
and back in with a code; each page fits the screen and axe-core finds no violation on it."""

import time

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser


def _check(page, problems: list[str]) -> None:
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
        problems.append(f"{page.url}: wider than a tablet")
    results = Axe().run(page)
    if results.violations_count:
        problems.append(f"{page.url}: {results.generate_report()}")


def test_a_lead_turns_on_two_factor_sign_in_and_signs_in_with_a_code(users, live_server, page):
    page.set_viewport_size({"width": 768, "height": 1024})
    problems: list[str] = []
    sign_in_page(page, live_server, "lead@example.com", PASSWORD)
    page.get_by_role("link", name="lead@example.com (lead)").click()
    assert page.locator("h1").inner_text() == "Your account"
    _check(page, problems)
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    qr = page.locator(".qr-code svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 150
    _check(page, problems)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.get_by_role("button", name="Turn it on").click()
    assert page.locator("#recovery-codes li").count() == 10
    _check(page, problems)
    page.get_by_role("link", name="I have kept them").click()
    assert "Recovery codes left: 10" in page.locator("#two-factor-status").inner_text()

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    sign_in_page(page, live_server, "lead@example.com", PASSWORD)
    assert page.locator("h1").inner_text() == "Enter your code"
    _check(page, problems)
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.locator("h1").inner_text() == "Console"
    assert problems == [], "\n".join(problems)
