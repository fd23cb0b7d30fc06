"""Every console page in a real browser, on a tablet and on a laptop: it answers, fits the
screen without sideways scrolling, and axe-core finds no accessibility violation on it."""

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe

from followup.cases import upsert_case
from followup.extensions import db
from followup.models import (
    Cadence,
    Customer,
    GestureType,
    MessageTemplate,
    RecoveryRule,
    Survey,
    Theme,
    User,
)
from followup.models.base import utcnow
from followup.suppressions import suppress
from followup.web.case_input import CaseIn
from tests.support.case_history import risk_model
from tests.support.cases import API_CASE
from tests.support.console import PASSWORD
from tests.support.theme_rows import comment, theme

pytestmark = pytest.mark.browser

SCREENS = {"tablet": (768, 1024), "laptop": (1366, 768)}


def first_id(model) -> int:
    return db.session.scalar(sa.select(model.id).order_by(model.id).limit(1))


def console_pages() -> list[str]:
    return [
        "/admin/", "/admin/recoveries", "/admin/cadences", "/admin/cadences/new",
        f"/admin/cadences/{first_id(Cadence)}", f"/admin/cadences/{first_id(Cadence)}/edit",
        "/admin/templates", f"/admin/templates/{first_id(MessageTemplate)}", "/admin/surveys",
        "/admin/surveys/new", f"/admin/surveys/{first_id(Survey)}",
        f"/admin/surveys/{first_id(Survey)}/preview", "/admin/goodwill",
        f"/admin/goodwill/{first_id(GestureType)}",
        f"/admin/goodwill/rules/{first_id(RecoveryRule)}", "/admin/exclusions",
        "/admin/audit-log", "/admin/health", "/admin/users", f"/admin/users/{first_id(User)}",
        "/admin/customers", "/admin/customers?q=ana@example.com",
        f"/admin/customers/{first_id(Customer)}", "/admin/suppressions", "/admin/root-causes",
        "/admin/alert-rules", "/admin/incidents", "/dashboard/kudos", "/dashboard/agents",
        "/dashboard/root-causes", "/dashboard/root-causes/recoveries", "/dashboard/proactive",
        "/dashboard/themes", f"/dashboard/themes/{first_id(Theme)}", "/dashboard/themes/unassigned",
        "/admin/risk",
    ]  # fmt: skip


@pytest.fixture
def customer(app):
    """A customer with a case and an opted-out number, for the customer and suppression pages;
    two themes with comments (one rising) and a comment in no theme, for the themes' pages; a
    trained risk model, for the risk page's tables."""
    upsert_case(CaseIn.model_validate(API_CASE).model_dump(exclude_unset=True))
    suppress("sms", "+14155550123", "stop", "STOP by SMS", utcnow())
    courier, charge = theme("Late courier", ["courier", "late"]), theme("Double charge", ["twice"])
    for days_ago in range(6):  # rising: six this week, none the week before
        comment(f"The courier came {days_ago + 1} days late", courier, score=2, days_ago=days_ago)
    comment("Charged twice for one order", charge, days_ago=9)
    comment("El repartidor no vino", None, locale="es", days_ago=1)
    db.session.add(risk_model())
    db.session.commit()


@pytest.mark.parametrize("screen", SCREENS)
def test_every_console_page_fits_and_has_no_accessibility_violations(
    users, seeded, customer, live_server, page, screen
):
    page.set_viewport_size(dict(zip(("width", "height"), SCREENS[screen], strict=True)))
    page.goto(f"{live_server}/admin/sign-in")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    axe = Axe()
    problems = []
    for path in console_pages():
        response = page.goto(live_server + path)
        if response.status != 200:
            problems.append(f"{path}: {response.status}")
            continue
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            problems.append(f"{path}: wider than the {screen} screen")
        results = axe.run(page)
        if results.violations_count:
            problems.append(f"{path}: {results.generate_report()}")
    assert problems == [], "\n".join(problems)
