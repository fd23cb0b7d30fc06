"""The agent's view in a real browser: an agent signs in and sees only their own figures,
words and kudos; another agent's page is a 403; a lead stars a kudo and the agent sees it in
the team's feed (a kudo starred for another team stays out of it)."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from followup.extensions import db
from tests.support.agents import agent_user, answer, case_with_message
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD
from tests.support.figures import TODAY, roll_up, round_fact

pytestmark = pytest.mark.browser


def fits_and_passes_axe(page) -> None:
    """The page fits the phone's width and axe-core finds no accessibility violation."""
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def sign_out(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()


def test_an_agent_sees_only_their_own_and_a_lead_stars_a_kudo(seeded, users, live_server, page):
    sam = agent_user("sam@example.com", "Sam Rivera", name="Sam")
    bo = agent_user("bo@example.com", "Bo", name="Bo")
    facts = [round_fact(i, TODAY - timedelta(days=i), agent="Sam Rivera", score=5)
             for i in range(1, 5)]  # fmt: skip
    facts += [round_fact(10 + i, TODAY, team="South", agent="Bo", score=1) for i in range(3)]
    roll_up(facts)
    answer(case_with_message("S-1"), 5, "Sam <b>fixed</b> it fast")
    answer(case_with_message("B-1", agent_name="Bo", team="South"), 5, "Bo was wonderful")
    answer(case_with_message("A-1", agent_name="Ana"), 5, "Ana was wonderful")  # North, as Sam
    db.session.commit()

    sign_in_page(page, live_server, "sam@example.com", PASSWORD)
    assert page.url == f"{live_server}/dashboard/agents/{sam.id}"
    assert page.locator("h1").inner_text() == "Sam"
    csat = page.locator("#agent-csat")
    assert "100%" in csat.inner_text() and "4 of 4" in csat.inner_text()
    assert page.get_by_text("Sam <b>fixed</b> it fast").first.is_visible()  # text, not HTML
    assert page.get_by_text("Bo was wonderful").count() == 0
    nav = page.get_by_role("navigation", name="Console")
    assert nav.get_by_role("link", name="My figures").is_visible()
    assert nav.get_by_role("link", name="Dashboard").count() == 0
    assert nav.get_by_role("link", name="Agents").count() == 0
    fits_and_passes_axe(page)

    other = page.goto(f"{live_server}/dashboard/agents/{bo.id}")
    assert other is not None and other.status == 403
    dashboard = page.goto(f"{live_server}/dashboard/")
    assert dashboard is not None and dashboard.status == 403
    page.goto(f"{live_server}/dashboard/kudos")
    assert page.get_by_text("Ana was wonderful").count() == 0  # not starred yet
    sign_out(page)

    sign_in_page(page, live_server, "lead@example.com", PASSWORD)
    page.goto(f"{live_server}/dashboard/kudos")
    for praised in ("Ana was wonderful", "Bo was wonderful"):
        with page.expect_navigation():
            kudo = page.locator(".kudo", has_text=praised)
            kudo.get_by_role("button", name="Star for the team").click()
        assert "Starred" in page.locator(".flash").inner_text()
        assert "★ starred" in page.locator(".kudo", has_text=praised).inner_text()
    fits_and_passes_axe(page)
    sign_out(page)

    sign_in_page(page, live_server, "sam@example.com", PASSWORD)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Kudos").click()
    page.wait_for_url(f"{live_server}/dashboard/kudos")
    shared = page.locator(".kudo", has_text="Ana was wonderful")
    assert "★ starred" in shared.inner_text()
    assert page.get_by_text("Bo was wonderful").count() == 0  # starred for South, not Sam's team
    assert page.locator(".kudo", has_text="fixed").count() == 1
    assert page.get_by_role("button", name="Star for the team").count() == 0
    fits_and_passes_axe(page)
