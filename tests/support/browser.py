"""Driving the console in the browser (Playwright): signing in through the real form."""

from tests.support.console import PASSWORD


def sign_in_page(page, live_server: str, email: str, password: str) -> None:
    """Fill in and post the sign-in form (whatever it answers)."""
    page.goto(f"{live_server}/admin/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def sign_in_as(page, live_server, email):
    """Sign in with PASSWORD from the console's home and wait until it shows."""
    page.goto(f"{live_server}/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/admin/")
