"""The dev outbox in a real browser: an email is shown at the width it was written for (its
card is 560 px at most; a phone's width on a phone), styled by its own inline styles under the
page's policy."""

import pytest

from followup.models.base import utcnow
from tests.support.cases import EMAIL_CASE, close, deliver_due_messages

pytestmark = pytest.mark.browser


def test_an_email_is_shown_at_its_own_width(client, seeded, live_server, page):
    assert close(client, seeded["auth"], EMAIL_CASE).status_code == 202
    deliver_due_messages(utcnow())  # the thank-you
    for window, card_width in ((1280, 560), (1000, 560), (800, 560), (390, 300)):
        page.set_viewport_size({"width": window, "height": 900})
        page.goto(f"{live_server}/dev/outbox")
        email = page.frame_locator(".mail iframe")
        card = email.locator("table table").first
        assert "Thank you for getting in touch" in card.inner_text()
        assert card.bounding_box()["width"] >= card_width, window
    background = email.locator("body").evaluate("body => getComputedStyle(body).backgroundColor")
    assert background == "rgb(244, 245, 247)"  # the email's inline style applies
