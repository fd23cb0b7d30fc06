"""The template editor in a real browser: the live preview as the lead types (SMS segments,
the HTML in a sandboxed frame, problems), saving, a test email, and a tablet-sized screen."""

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from followup.extensions import db
from followup.models import MessageTemplate
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser


def sign_in_and_open(page, live_server: str, name: str = "Thank you") -> None:
    page.goto(f"{live_server}/admin/sign-in")
    page.get_by_label("Email").fill("lead@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/admin/templates")
    with page.expect_navigation():
        page.get_by_role("link", name=name, exact=True).click()


def test_a_lead_edits_a_template_live_saves_it_and_sends_a_test(
    users, seeded, app, live_server, page
):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in_and_open(page, live_server)
    segments = page.locator("#preview-segments")
    expect(segments).to_have_text(re.compile(r"^1 segment, GSM-7, \d+ characters$"))

    sms = page.get_by_label("SMS body", exact=True)
    sms.fill("a" * 159)
    expect(segments).to_have_text("1 segment, GSM-7, 159 characters")
    sms.press("End")
    sms.press_sequentially("bc", delay=50)  # typed: 161 characters
    expect(segments).to_have_text("2 segments, GSM-7, 161 characters")
    sms.fill("Thanks {{ customer.first_name }} 🙂")
    expect(segments).to_have_text("1 segment, UCS-2, 13 characters")
    expect(page.locator("#preview-sms")).to_have_text("Thanks Ana 🙂")

    # The lead's HTML runs in a sandboxed frame: its script never runs.
    page.get_by_label("Email HTML", exact=True).fill(
        "<p>Hello {{ customer.name }}</p><script>document.querySelector('p').textContent = "
        "'scripted'</script>"
    )
    paragraphs = page.frame_locator("#preview-html").locator("p")
    expect(paragraphs).to_have_count(1)  # the new preview
    expect(paragraphs).to_have_text("Hello Ana Lima")
    assert page.locator("#preview-html").get_attribute("sandbox") == ""

    # A problem shows while it lasts, linked to its field.
    subject = page.get_by_label("Email subject", exact=True)
    subject.fill("Thanks {{ customer.first_name")
    problems = page.locator("#preview-problems")
    expect(problems).to_be_visible()
    expect(problems.get_by_role("link")).to_contain_text("email_subject, line 1:")
    subject.fill("Thanks, {{ customer.first_name }}!")
    expect(problems).to_be_hidden()
    expect(page.locator("#preview-subject")).to_have_text("Thanks, Ana!")

    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_have_text("Template “Thank you” saved.")
    db.session.expire_all()
    saved = db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == "thank_you"))
    assert saved.sms_text == "Thanks {{ customer.first_name }} 🙂"
    assert saved.email_subject == "Thanks, {{ customer.first_name }}!"

    with page.expect_navigation():
        page.get_by_role("button", name="Send test").click()
    expect(page.locator(".flash")).to_contain_text("Sent to lead@example.com (provider id dev-")
    outbox = Path(app.config["DEV_OUTBOX_PATH"]).read_text()
    [mail] = [json.loads(line) for line in outbox.splitlines()]
    assert (mail["to"], mail["subject"]) == ("lead@example.com", "Thanks, Test!")


def test_the_editor_fits_a_tablet(users, seeded, live_server, page):
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in_and_open(page, live_server, "CSAT check-in")
    expect(page.locator("#preview-sms")).not_to_be_empty()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, width
    for selector in ("#template-form", "#template-preview", "#preview-html", "#variables-title"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 768, (selector, box)
