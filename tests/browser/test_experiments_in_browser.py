"""A cadence experiment in a real browser: a lead sends 30% of the Standard cadence's
customers to the Demo cadence in the cadence editor (a wrong share is refused first); once
rounds have closed under it, a manager opens the experiments page and reads the verdict.
Both pages pass axe-core."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from followup.extensions import db
from followup.models.base import utcnow
from followup.models.figures import RoundFact
from tests.support.browser import sign_in_as
from tests.support.cadences import current

pytestmark = pytest.mark.browser


def test_a_lead_sets_up_an_experiment_and_a_manager_reads_the_verdict(
    seeded, users, live_server, page
):
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in_as(page, live_server, "lead@example.com")
    page.get_by_role("link", name="Cadences").first.click()
    page.get_by_role("link", name="Standard", exact=True).first.click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("B cadence").select_option(label="Demo")
    page.get_by_label("B's share (percent)").fill("100")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("B's share (percent): Number must be")
    expect(page.get_by_label("B's share (percent)")).to_have_attribute("aria-invalid", "true")
    assert Axe().run(page).violations_count == 0
    page.get_by_label("B's share (percent)").fill("30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved Standard, version 2.")).to_be_visible()
    expect(page.locator("dd", has_text="30% of customers get Demo")).to_be_visible()

    # Rounds closed under the experiment, as the rollups record them: B answers far more.
    experiment, now = current("Standard").lineage, utcnow()
    for n in range(200):
        variant = "A" if n < 100 else "B"
        responded = int(n % 100 < (25 if variant == "A" else 55))
        db.session.add(RoundFact(
            case_id=n + 1, round=1, closed_at=now, day=now.date(), variant=variant,
            experiment=experiment, counts={"closed": 1, "delivered": 1, "responded": responded},
        ))  # fmt: skip
    db.session.commit()

    page.context.clear_cookies()
    sign_in_as(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/dashboard/experiments")
    section = page.get_by_role("region", name="Standard vs Demo")
    expect(section).to_contain_text("30% of customers get B")
    expect(section.get_by_role("row", name="A Standard")).to_contain_text("25% (18-34%) of 100")
    expect(section.get_by_role("row", name="B Demo")).to_contain_text("55% (45-64%) of 100")
    expect(section.locator(".verdict").first).to_have_text(
        "B (Demo) has more survey responses (55% vs 25%), 95% confidence"
    )
    expect(section.locator(".verdict").nth(1)).to_have_text(
        "not enough data yet: about 60 more cases needed"
    )
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
