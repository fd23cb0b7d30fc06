"""A customer's path in a real browser: the check-in text in the dev outbox, the survey page,
a score, submit, the thank-you page, and the answer on the case's timeline."""

import re
from datetime import timedelta

import pytest

from followup.models.base import utcnow
from tests.support.cases import deliver_due_messages

pytestmark = pytest.mark.browser


def test_open_the_survey_from_the_dev_outbox_and_answer(client, seeded, live_server, page):
    auth = seeded["auth"]
    case = {
        "external_id": "B-1",
        "subject": "Wrong size delivered",
        "agent": {"name": "Sam Rivera"},
        "customer": {"name": "Ana Lima", "email": "ana@example.com", "phone": "+14155550123"},
    }
    client.post("/api/v1/cases", json=case, headers=auth)
    client.post("/api/v1/cases/B-1/close", headers=auth)
    deliver_due_messages(utcnow() + timedelta(hours=25))  # thank-you and check-in

    page.goto(f"{live_server}/dev/outbox")
    phone = page.locator("section.phone")
    assert "how did Acme Support do" in phone.inner_text()
    with page.expect_navigation():
        phone.locator("a").first.click()

    assert (
        page.locator("h1")
        .inner_text()
        .startswith("How satisfied are you with how we handled \u201cWrong size delivered\u201d")
    )
    page.get_by_role("radio", name=re.compile(r"^4\b")).check()
    page.get_by_label("Anything else you would like to tell us?").fill("Quick swap, thanks!")
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url("**/thanks")
    assert page.locator("h1").inner_text() == "Thank you!"

    document = client.get("/api/v1/cases/B-1", headers=auth).json
    [response] = document["responses"]
    assert (response["score"], response["comment"], response["channel"]) == (
        4, "Quick swap, thanks!", "web"
    )  # fmt: skip
    assert "response.recorded" in [e["kind"] for e in document["timeline"]]
