"""An incident in a real browser: a lead declares one in the console; a case closed during it
gets no survey (its timeline says paused for incident) and one closed after the lead ends it
is surveyed."""

from datetime import timedelta

import pytest

from followup.models.base import utcnow
from tests.support.browser import sign_in_as
from tests.support.cases import close, sweep_and_dispatch

pytestmark = pytest.mark.browser


def case_body(external_id: str) -> dict:
    customer = {"name": "Ana Lima", "email": f"{external_id.lower()}@example.com"}
    return {"external_id": external_id, "subject": "Card declined", "team": "Billing",
            "customer": customer}  # fmt: skip


def test_a_lead_pauses_surveys_for_an_incident_and_ends_it(
    client, seeded, users, live_server, page
):
    sign_in_as(page, live_server, "lead@example.com")
    page.get_by_role("link", name="Incidents").click()
    page.get_by_label("Name").fill("Payments outage")
    page.get_by_label("Teams").fill("billing")
    page.get_by_role("button", name="Declare").click()
    page.wait_for_url(f"{live_server}/admin/incidents/*")
    assert page.locator("#incident-state").inner_text() == "active"

    auth = seeded["auth"]
    assert close(client, auth, case_body("DURING-1")).status_code == 202
    sweep_and_dispatch(at=utcnow() + timedelta(hours=24, minutes=1))
    page.reload()
    assert page.locator("#cases-held").inner_text() == "1"
    assert page.locator("#messages-held").inner_text() == "2"  # the check-in and reminder

    page.get_by_role("button", name="End now").click()
    page.wait_for_url(f"{live_server}/admin/incidents/*")
    assert page.locator("#incident-state").inner_text() == "ended"
    assert close(client, auth, case_body("AFTER-1")).status_code == 202
    sweep_and_dispatch(at=utcnow() + timedelta(days=4))

    page.goto(f"{live_server}/dashboard/cases/DURING-1")
    timeline = page.locator("ol.timeline").inner_text()
    assert "message.suppressed" in timeline and "paused for incident: Payments outage" in timeline
    assert "message.sent" in timeline  # the thank-you, which carries no survey
    messages = page.get_by_role("table").first.inner_text()
    assert "check-in" in messages and "suppressed: paused for incident" in messages

    page.goto(f"{live_server}/dashboard/cases/AFTER-1")
    rows = page.get_by_role("row").all_inner_texts()
    check_in = next(row for row in rows if row.startswith("check-in"))
    assert "sent" in check_in and "paused" not in " ".join(rows)
