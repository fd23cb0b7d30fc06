"""A new lead in a real browser: sign in, build a cadence with three steps and a rule, preview
it on a sample case, save it, edit a template and send a test; a matching case closed
through the API then follows the new cadence with the edited template (the dev outbox shows
its messages). A manager trying to change a cadence is refused."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from followup.models.base import utcnow
from tests.support.browser import sign_in_as
from tests.support.cases import deliver_due_messages

pytestmark = pytest.mark.browser


def fill_step(page, n, name, delay, unit, channel, template, survey="No survey", when="Always"):
    page.get_by_label(f"Step {n} name", exact=True).fill(name)
    page.get_by_label(f"Step {n} delay", exact=True).fill(str(delay))
    page.get_by_label(f"Step {n} delay unit").select_option(unit)
    page.get_by_label(f"Step {n} channel").select_option(label=channel)
    page.get_by_label(f"Step {n} template").select_option(label=template)
    page.get_by_label(f"Step {n} survey").select_option(label=survey)
    page.get_by_label(f"Step {n} condition").select_option(label=when)


def test_a_lead_builds_a_cadence_and_a_matching_case_follows_it(
    client, seeded, users, live_server, page
):
    page.set_viewport_size({"width": 1024, "height": 768})  # a tablet, landscape
    sign_in_as(page, live_server, "lead@example.com")
    page.get_by_role("link", name="Cadences").first.click()
    page.get_by_role("link", name="New cadence").click()

    page.get_by_label("Name", exact=True).fill("Billing follow-up")
    page.get_by_label("Case has one of these tags").fill("billing")
    fill_step(page, 1, "thanks", 0, "minutes", "Email", "Thank you")
    fill_step(page, 2, "check-in", 1, "hours", "Email", "CSAT check-in", "Customer satisfaction")
    page.get_by_role("button", name="Add a step").click()  # the form comes back with a third row
    fill_step(page, 3, "nudge", 1, "days", "Email", "CSAT reminder", "Customer satisfaction",
              "Only if the survey is not answered yet (a reminder)")  # fmt: skip

    page.get_by_role("button", name="Preview").click()
    plan = page.locator("table.plan tbody tr")
    assert plan.count() == 3
    assert "Europe/London" in plan.nth(1).inner_text()
    assert "only if the survey is not answered yet" in plan.nth(2).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name="Save").click()
    assert "Saved Billing follow-up, version 1." in page.locator(".flash").inner_text()
    assert "case tag is billing" in page.locator("dl").inner_text()

    # The thank-you's template, from the cadence's own page: edit, save, send a test.
    page.get_by_role("link", name="Thank you").click()
    page.get_by_label("Email subject", exact=True).fill("All sorted, {{ customer.first_name }}?")
    expect(page.locator("#preview-subject")).to_have_text("All sorted, Ana?")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_have_text("Template “Thank you” saved.")
    page.get_by_role("button", name="Send test").click()
    expect(page.locator(".flash")).to_contain_text("Sent to lead@example.com")

    # A matching case closed through the API follows the new cadence.
    auth = seeded["auth"]
    case = {"external_id": "ZD-77", "subject": "Charged twice", "tags": ["billing"],
            "customer": {"name": "Ana Lima", "email": "ana@example.com"}}  # fmt: skip
    assert client.post("/api/v1/cases", json=case, headers=auth).status_code == 201
    closed = client.post("/api/v1/cases/ZD-77/close", headers=auth).json
    assert closed["case"]["cadence"] == "Billing follow-up"
    assert [m["step"] for m in closed["messages"]] == ["thanks", "check-in", "nudge"]
    deliver_due_messages(utcnow() + timedelta(hours=2))
    page.goto(f"{live_server}/dev/outbox")
    mailbox = page.locator(".mail summary").all_inner_texts()
    assert len(mailbox) == 3, mailbox  # the test email, then the case's thank-you and check-in
    assert "All sorted, Ana?" in " ".join(mailbox)


def test_a_manager_is_refused_when_trying_to_change_a_cadence(users, seeded, live_server, page):
    sign_in_as(page, live_server, "manager@example.com")
    page.get_by_role("link", name="Cadences").first.click()
    page.get_by_role("link", name="Standard").click()
    assert page.get_by_role("link", name="Edit").count() == 0
    response = page.goto(page.url + "/edit")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Not allowed"
