"""Users in a real browser: an admin adds a lead, the lead signs in and sees the console, the
admin deactivates them and they can no longer sign in."""

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import User
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser

LEAD_PASSWORD = "a lead's own long passphrase"


def sign_out(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.locator("h1").inner_text() == "Sign in to the console"


def test_an_admin_adds_a_lead_who_signs_in_then_is_deactivated(users, live_server, page):
    sign_in_page(page, live_server, "admin@example.com", PASSWORD)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("Email").fill("lee@example.com")
    page.get_by_label("Name").fill("Lee <b>Park</b>")
    page.get_by_label("Role").select_option("lead")
    page.get_by_label("Initial password").fill(LEAD_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Add the user").click()
    assert "Added lee@example.com (lead)" in page.locator(".flash").inner_text()
    assert page.get_by_role("cell", name="Lee <b>Park</b>").is_visible()  # shown as text
    sign_out(page)

    sign_in_page(page, live_server, "lee@example.com", LEAD_PASSWORD)
    assert page.locator("h1").inner_text() == "Console"
    assert "lee@example.com (lead)" in page.locator(".console-nav").inner_text()
    assert page.get_by_role("link", name="Users", exact=True).count() == 0
    sign_out(page)

    sign_in_page(page, live_server, "admin@example.com", PASSWORD)
    page.goto(f"{live_server}/admin/users")
    page.get_by_role("link", name="lee@example.com").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Deactivate lee@example.com").click()
    assert "deactivated" in page.locator("#status").inner_text()
    db.session.expire_all()
    lee = db.session.scalar(sa.select(User).where(User.email == "lee@example.com"))
    assert (lee.role, lee.active) == ("lead", False)
    sign_out(page)

    sign_in_page(page, live_server, "lee@example.com", LEAD_PASSWORD)
    assert "don't match an active account" in page.locator(".error-summary").inner_text()
