"""The weekly digest and the threshold alerts in a real browser: the digest a manager is sent
says what the dashboard shows for that week, and a burst of negative answers naming one
reason raises exactly one alert, seen in the console's queue of threshold alerts."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe

from followup import digests
from followup.extensions import db
from followup.models import OutboundCall
from followup.models.recovery import CallKind
from tests.support.answers import record_negative_answer
from tests.support.browser import sign_in_as
from tests.support.figures import TODAY
from workers import jobs

pytestmark = pytest.mark.browser


def test_the_digest_a_manager_gets_matches_the_dashboard_for_that_week(
    users, rounds, live_server, page
):
    monday = datetime.combine(TODAY - timedelta(days=TODAY.weekday()), time(9), UTC)
    assert digests.send_due(monday) == 2  # the manager's and the lead's
    db.session.commit()
    text = db.session.scalar(
        sa.select(OutboundCall.payload).where(
            OutboundCall.kind == CallKind.STAFF_EMAIL,
            OutboundCall.key.contains(f":{users['manager'].id}:"),
        )
    )["text"]
    week = digests.last_week(monday)
    dashboard = re.search(r"The dashboard for this week: (\S+)", text).group(1)
    assert dashboard.endswith(f"/dashboard/?from={week.start}&to={week.end}")

    sign_in_as(page, live_server, "manager@example.com")
    page.goto(dashboard)  # the digest's own link
    labels = {"csat": "CSAT", "response": "Response rate", "negative": "Negative answers",
              "recovery": "Recovery rate"}  # fmt: skip
    for key, label in labels.items():
        value, numerator, denominator = re.search(
            rf"^- {label}: (\S+) \(([\d,]+) of ([\d,]+)\) /", text, re.M
        ).groups()
        card = page.locator(f"#figure-{key}")
        assert card.locator(".figure").inner_text() == value, key
        assert re.match(rf"{numerator} of {denominator}\b", card.locator(".of").inner_text()), key


def test_a_burst_of_negative_answers_naming_one_reason_raises_exactly_one_alert(
    users, seeded, live_server, page
):
    sign_in_as(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/admin/alert-rules")
    page.get_by_label("Name").fill("Slow replies")
    page.get_by_label("Watches").select_option("reason_burst")
    page.get_by_label("Threshold", exact=True).fill("2")
    with page.expect_navigation():
        page.get_by_role("button", name="Add rule").click()
    assert page.locator("#alerts-title + .table-wrap tbody tr").inner_text() == (
        "No open threshold alerts."
    )

    for n in range(1, 5):
        record_negative_answer(n, reasons=["slow"])
    record_negative_answer(5, reasons=["policy"])
    for _ in range(2):  # the check runs every few minutes, on any number of hosts
        jobs.check_alert_rules()

    page.goto(f"{live_server}/admin/alert-rules")
    alerts = page.locator("#alerts-title + .table-wrap tbody tr")
    assert alerts.count() == 1
    assert "Slow replies: 4 negative answers named “It took too long” in an hour" in (
        alerts.inner_text()
    )
    assert "4 of the 5 negative answers" in alerts.inner_text()
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    with page.expect_navigation():
        alerts.get_by_role("button", name="Acknowledge").click()
    assert alerts.inner_text() == "No open threshold alerts."
