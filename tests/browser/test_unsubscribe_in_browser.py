"""Unsubscribing in a real browser: the link in the thank-you email in the dev outbox, the
confirm page, the button, the confirmation, and the address on the suppression list."""

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Suppression
from followup.models.base import utcnow
from tests.support.cases import deliver_due_messages

pytestmark = pytest.mark.browser


def test_unsubscribe_from_the_dev_outbox(client, seeded, live_server, page):
    auth = seeded["auth"]
    case = {
        "external_id": "B-2",
        "subject": "Wrong size delivered",
        "customer": {"name": "Ana Lima", "email": "ana@example.com"},
    }
    client.post("/api/v1/cases", json=case, headers=auth)
    client.post("/api/v1/cases/B-2/close", headers=auth)
    deliver_due_messages(utcnow())  # the thank-you

    page.goto(f"{live_server}/dev/outbox")
    link = page.locator("section.mailbox pre.text-part a", has_text="/u/")
    with page.expect_navigation():
        link.click()
    assert page.locator("h1").inner_text() == "Unsubscribe from our emails?"
    assert db.session.scalar(sa.select(sa.func.count(Suppression.id))) == 0  # opening is not enough

    with page.expect_navigation():
        page.get_by_role("button", name="Unsubscribe").click()
    assert page.locator("h1").inner_text() == "You are unsubscribed"
    db.session.expire_all()
    [row] = db.session.scalars(sa.select(Suppression))
    assert (row.address, row.reason) == ("ana@example.com", "unsubscribe")
