"""A lead's path through the goodwill and exclusions pages in a real browser: add a gesture
type, upload its codes and see them counted, give it by a new rule moved to the top, and
exclude a segment from surveys."""

import os

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import GestureType, RecoveryRule, SurveyExclusion
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser


def test_a_lead_sets_up_a_gesture_its_codes_a_rule_and_an_exclusion(users, seeded, live_server,
                                                                     page):  # fmt: skip
    page.goto(f"{live_server}/admin/sign-in")
    page.get_by_label("Email").fill("lead@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/admin/")

    page.goto(f"{live_server}/admin/goodwill")
    page.get_by_role("link", name="Add a gesture type").click()
    page.get_by_label("Key").fill("gift-card")
    page.get_by_label("Name").fill("Gift card")
    page.get_by_label("Kind").select_option("code")
    page.get_by_label("Offer", exact=True).fill("a $15 gift card")
    page.get_by_label("Offer in Spanish").fill("una tarjeta regalo de 15 $")
    page.get_by_label("Cost").fill("12.50")
    page.get_by_label("Monthly budget").fill("300")
    page.get_by_label("Low-code alert level").fill("2")
    page.get_by_role("button", name="Add the gesture type").click()
    page.wait_for_url("**/admin/goodwill/*")
    assert "Added Gift card." in page.locator(".flash").first.inner_text()

    page.set_input_files(
        "#codes",
        files=[{"name": "codes.csv", "mimeType": "text/csv", "buffer": b"code\nG-1\nG-2\nG-3\n"}],
    )
    page.get_by_role("button", name="Upload codes").click()
    page.wait_for_load_state()
    assert "3 added, 0 already there" in page.locator(".flash").first.inner_text()
    assert page.locator("strong.unused-count").inner_text() == "3"

    page.get_by_role("link", name="← Goodwill").click()
    row = page.locator("tr#gesture-gift-card")
    assert row.locator(".unused-count").inner_text() == "3"
    assert "0% of budget" in row.inner_text()

    page.get_by_role("link", name="Add a rule").click()
    page.get_by_label("Name").fill("Partners: a gift card")
    page.get_by_label("Customer tags").fill("partner, reseller")
    page.get_by_label("Gesture").select_option(label="Gift card")
    page.get_by_role("button", name="Add the rule").click()
    page.wait_for_url("**/admin/goodwill#rules")
    rule = page.locator("ol.rules > li").last
    assert "When the customer is tagged 'partner' or 'reseller' → Gift card" in rule.inner_text()
    move_up = page.locator("ol.rules > li", has_text="Partners: a gift card").get_by_role(
        "button", name="Move up"
    )
    for _ in range(20):  # one place at a time, to the top
        if not move_up.count():
            break
        move_up.click()
        page.wait_for_load_state()
    first = page.locator("ol.rules > li").first
    assert "Partners: a gift card" in first.inner_text()
    if os.environ.get("FOLLOWUP_SCREENSHOTS"):
        page.screenshot(path=os.environ["FOLLOWUP_SCREENSHOTS"] + "/goodwill.png", full_page=True)

    page.get_by_role("link", name="Exclusions").click()
    page.get_by_label("Who").select_option("case_tag")
    page.get_by_label("Tag").fill("Legal Hold")
    page.get_by_role("button", name="Exclude").click()
    page.wait_for_load_state()
    assert "Case tag 'legal hold' is never surveyed now." in page.locator(".flash").inner_text()
    assert "0 cases" in page.locator("tr", has_text="legal hold").inner_text()

    db.session.expire_all()
    gift = db.session.scalar(sa.select(GestureType).where(GestureType.key == "gift-card"))
    assert (gift.cost_cents, gift.monthly_budget_cents) == (1250, 30000)
    top = db.session.scalar(sa.select(RecoveryRule).order_by(RecoveryRule.position).limit(1))
    assert (top.name, top.gesture_type_id) == ("Partners: a gift card", gift.id)
    assert db.session.scalar(
        sa.select(SurveyExclusion.id).where(SurveyExclusion.value == "legal hold")
    )
