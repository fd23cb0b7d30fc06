"""A branded survey page in a real browser: the organisation's logo drawn in the header, its
accent colour on the button (through /brand/style.css, under the Content-Security-Policy),
its footer address and privacy link; axe-core finds no violation before and after a real
answer."""

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from followup.extensions import db
from followup.models import OrganisationSettings
from followup.models.base import utcnow
from followup.organisation import forget
from tests.support.answers import survey_token
from tests.support.cases import close, deliver_due_messages
from tests.support.images import png

pytestmark = pytest.mark.browser

ACCENT = "#0f5132"


def passes_axe(page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_a_branded_survey_page_passes_axe(app, client, seeded, live_server, page):
    db.session.add(OrganisationSettings(
        id=1, default_language="en", languages=[], sender_name="Acme Care", accent_colour=ACCENT,
        logo=png(240, 80), logo_type="image/png", logo_width=240, logo_height=80,
        privacy_url="https://acme.example/privacy",
        footer_address="Acme Ltd <b>HQ</b>\n1 Main Street\nSpringfield",
    ))  # fmt: skip
    db.session.commit()
    forget()
    customer = {"name": "Ana Lima", "email": "ana@example.com"}
    body = {"external_id": "BR-1", "subject": "Late parcel", "customer": customer}
    assert close(client, seeded["auth"], body).status_code == 202
    deliver_due_messages(utcnow() + timedelta(hours=25))  # the thank-you and the check-in
    token = survey_token(app, "ana@example.com")

    page.goto(f"{live_server}/s/{token}")
    logo = page.get_by_role("img", name="Acme Support")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 240
    button = page.get_by_role("button", name="Send my answer")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(15, 81, 50)"
    footer = page.get_by_role("contentinfo")
    assert footer.inner_text().splitlines()[:3] == [
        "Acme Ltd <b>HQ</b>",
        "1 Main Street",
        "Springfield",
    ]
    assert footer.get_by_role("link", name="Privacy policy").get_attribute("href") == (
        "https://acme.example/privacy"
    )
    passes_axe(page)

    page.get_by_role("radio", name=re.compile(r"^2\b")).check()
    page.get_by_role("checkbox", name="It took too long").check()
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url("**/thanks")
    assert page.locator("h1").inner_text() == "Thank you for telling us"
    assert page.get_by_role("img", name="Acme Support").is_visible()
    passes_axe(page)
