"""A lead in a real browser closes a recovery's call-back task with its root cause in the
recovery queue's form, and the dashboard's root cause page counts it (and lists it behind the
count); both pages fit a phone and axe-core finds no accessibility violation on them."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.support.browser import sign_in_as
from tests.support.root_causes import ended_recovery, with_defaults

pytestmark = pytest.mark.browser


def test_a_lead_records_a_root_cause_and_the_dashboard_counts_it(seeded, users, live_server, page):
    with_defaults()
    ended_recovery(1, status="open", team="North", agent="Sam Rivera")  # a call-back task open
    sign_in_as(page, live_server, "lead@example.com")
    page.get_by_role("link", name="Recoveries").first.click()

    axe = Axe()
    found = axe.run(page)
    assert found.violations_count == 0, found.generate_report()
    task = page.locator(".task").first
    task.get_by_label("Outcome").fill("Called: the part was faulty, a new one is on its way")
    task.get_by_label("Root cause (optional)").select_option(label="Product defect")
    task.get_by_label("Root cause note (optional)").fill("Batch 42 <hinge> fault")
    task.get_by_role("button", name="Complete the task").click()
    expect(page.locator(".flash")).to_contain_text("Root cause: Product defect.")
    cause = page.locator(".root-cause").first
    expect(cause).to_contain_text("Product defect")
    expect(cause).to_contain_text("Batch 42 <hinge> fault")  # text, not markup

    page.get_by_role("link", name="Dashboard").first.click()
    page.get_by_role("link", name="Root causes").click()
    row = page.locator("#cause-product_defect")
    expect(row).to_contain_text("Product defect")
    expect(row.locator("td").first).to_have_text("1")
    expect(page.locator("#by-team")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    found = axe.run(page)
    assert found.violations_count == 0, found.generate_report()

    row.locator("td").first.get_by_role("link").click()
    expect(page.locator("#count")).to_contain_text("1 recovery")
    expect(page.get_by_role("link", name="R-1")).to_be_visible()
