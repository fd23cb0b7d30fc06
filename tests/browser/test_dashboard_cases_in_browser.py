"""The drill-down in a real browser: a manager opens the closed cases, follows one to its
timeline (the customer's comment with script in it shown as text, never run) and downloads
the list as CSV."""

import csv
import io
from pathlib import Path

import pytest

from followup import rollups
from followup.models.base import utcnow
from tests.support.browser import sign_in_page
from tests.support.cases import HOSTILE, answered_case
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser


def test_a_manager_drills_down_to_a_cases_timeline(client, seeded, users, live_server, page):
    answered_case(client, seeded["auth"], team="Billing")
    rollups.refresh(utcnow(), lag_seconds=0)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    sign_in_page(page, live_server, "manager@example.com", PASSWORD)
    page.goto(f"{live_server}/dashboard/cases?metric=closed")
    assert page.locator("h1").inner_text() == "Cases closed"
    assert page.locator("#count").inner_text().startswith("1 case.")
    assert page.get_by_role("cell", name="Billing").is_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these as CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(row["case"], row["team"], row["outcome"]) for row in rows] == [
        ("O-1", "Billing", "open")
    ]

    page.get_by_role("link", name="O-1").click()
    page.wait_for_url("**/dashboard/cases/O-1")
    assert page.locator("h1").inner_text() == "Case O-1"
    assert page.get_by_role("heading", name="Round 1").is_visible()
    assert page.get_by_role("heading", name="Timeline").is_visible()
    timeline = page.locator("ol.timeline").inner_text()
    assert timeline.index("case.created") < timeline.index("case.closed")
    assert "response.recorded" in timeline and "recovery.started" in timeline
    assert page.locator("blockquote").inner_text() == HOSTILE  # shown as text
    assert page.locator("main script").count() == 0 and dialogs == []
