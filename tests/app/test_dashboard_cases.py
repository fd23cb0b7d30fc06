"""The drill-down: the case rounds behind a number (filters, the counter, a reason, pages,
the count), a bad metric or filter as a 422 naming it, and a case's timeline for people with
the customer's words escaped; signed-out visitors go to the sign-in page."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Cadence, Case, Customer, SurveyInvitation
from followup.models.base import utcnow
from followup.models.figures import COUNTERS, RoundFact
from surveys.responses import record_response
from tests.app.test_dashboard import roll_up_stored
from tests.app.test_outbox import CASE, close, sweep_and_dispatch

HOSTILE = '<script>alert(1)</script> =HYPERLINK("http://x") never came'


def add_cases(count: int, prefix: str = "C") -> list[int]:
    """`count` closed cases of one customer (bulk inserts); their ids in order."""
    customer = Customer(name="Bulk Customer", email=f"{prefix.lower()}@example.com")
    db.session.add(customer)
    db.session.flush()
    now = utcnow()
    db.session.execute(
        sa.insert(Case),
        [dict(external_id=f"{prefix}-{n}", customer_id=customer.id, subject="Bulk",
              status="closed", round=1, tags=[], priority="normal", created_at=now,
              updated_at=now) for n in range(1, count + 1)],
    )  # fmt: skip
    return list(
        db.session.scalars(
            sa.select(Case.id).where(Case.external_id.like(f"{prefix}-%")).order_by(Case.id)
        )
    )


def add_facts(case_ids: list[int], ago: timedelta = timedelta(days=1), **values) -> None:
    """A fact row for round 1 of each case, closed `ago` before now and a second apart (the
    last case the newest); `counts` are given as keyword COUNTERS (closed is always 1)."""
    counts = {name: values.pop(name) for name in list(values) if name in COUNTERS}
    counts = {name: 0 for name in COUNTERS} | {"closed": 1} | counts
    start = utcnow() - ago - timedelta(seconds=len(case_ids))
    rows = []
    for n, case_id in enumerate(case_ids):
        closed_at = start + timedelta(seconds=n)
        rows.append({"case_id": case_id, "round": 1, "closed_at": closed_at,
                     "day": closed_at.date(), "reasons": [], "counts": counts,
                     "team": "", "agent": "", "channel": "", "cadence": "", "variant": "",
                     "experiment": "", "survey_id": 0, "survey_kind": "", **values})  # fmt: skip
    db.session.execute(sa.insert(RoundFact), rows)


def case_links(page: str) -> list[str]:
    return re.findall(r'<a href="/dashboard/cases/([^"]+)">', page)


@pytest.fixture
def facts(app):
    """Rounds: N-1..N-3 negative (N-3 newest; N-2 names "slow", team Billing), P-1 closed and
    positive, O-1 negative but 40 days ago."""
    negative = add_cases(3, "N")
    add_facts(negative[:1], negative=1, responded=1, first_score=1)
    add_facts(negative[1:2], ago=timedelta(hours=20), negative=1, recovered=1, responded=1,
              first_score=2, reasons=["slow", "rude"], team="Billing")  # fmt: skip
    add_facts(negative[2:], ago=timedelta(hours=2), negative=1, escalated=1, first_score=1)
    add_facts(add_cases(1, "P"), ago=timedelta(hours=1), responded=1, first_score=5)
    add_facts(add_cases(1, "O"), ago=timedelta(days=40), negative=1, first_score=1)
    roll_up_stored()


def test_lists_the_rounds_behind_a_number_newest_first(as_manager, facts):
    response = as_manager.get("/dashboard/cases?metric=negative")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert case_links(page) == ["N-3", "N-2", "N-1"]
    assert "3 cases" in page and "Cases whose first answer was negative" in page
    assert "escalated" in page and "recovered" in page and "slow, rude" in page

    everything = as_manager.get("/dashboard/cases?metric=closed").get_data(as_text=True)
    assert case_links(everything) == ["P-1", "N-3", "N-2", "N-1"]
    assert "4 cases" in everything
    # The default metric is closed; the period reaches back to O-1 when asked.
    assert (
        case_links(as_manager.get("/dashboard/cases?period=90d").get_data(as_text=True))[-1]
        == "O-1"
    )


def test_filters_and_a_reason_narrow_the_list_and_its_count(as_manager, facts):
    billing = as_manager.get("/dashboard/cases?metric=negative&team=Billing").get_data(as_text=True)
    assert case_links(billing) == ["N-2"] and "1 case." in billing
    slow = as_manager.get("/dashboard/cases?metric=negative&reason=slow").get_data(as_text=True)
    assert case_links(slow) == ["N-2"] and "1 case." in slow
    assert case_links(as_manager.get("/dashboard/cases?metric=closed&reason=sl").text) == []
    recovered = as_manager.get("/dashboard/cases?metric=recovered").get_data(as_text=True)
    assert case_links(recovered) == ["N-2"]
    # Links keep the filters: the other metrics and the CSV of the same rounds.
    assert 'href="/dashboard/export/cases.csv?metric=negative&amp;from=' in billing
    assert "team=Billing" in billing


def test_pages_of_fifty_and_a_bad_page_is_the_first(as_manager, app):
    add_facts(add_cases(120))
    roll_up_stored()
    first = as_manager.get("/dashboard/cases?metric=closed").get_data(as_text=True)
    assert len(case_links(first)) == 50 and case_links(first)[0] == "C-120"
    assert "120 cases; page 1 of 3" in first and 'rel="next"' in first
    third = as_manager.get("/dashboard/cases?metric=closed&page=3").get_data(as_text=True)
    assert case_links(third) == [f"C-{n}" for n in range(20, 0, -1)]
    assert 'rel="prev"' in third and 'rel="next"' not in third
    for bad in ("0", "4", "abc", "-1", "99999999999999999999"):
        page = as_manager.get(f"/dashboard/cases?metric=closed&page={bad}").get_data(as_text=True)
        assert case_links(page)[0] == "C-120", bad


def test_pages_break_across_days_as_the_whole_list_does(as_manager, app):
    """Each page is read from the days that hold it: the next fifty of the newest-first
    list wherever the days break, days with nothing behind the number skipped."""
    expected = []
    for ago, count in ((1, 31), (3, 45), (4, 0), (5, 3), (6, 70)):
        add_facts(add_cases(4, f"X{ago}"), ago=timedelta(days=ago))  # not negative
        if count:
            add_facts(add_cases(count, f"D{ago}"), ago=timedelta(days=ago), negative=1)
            expected += [f"D{ago}-{n}" for n in range(count, 0, -1)]
    roll_up_stored()
    pages = [as_manager.get(f"/dashboard/cases?metric=negative&page={n}").text for n in (1, 2, 3)]
    assert "149 cases; page 1 of 3" in pages[0]
    assert [case_links(page) for page in pages] == [expected[:50], expected[50:100],
                                                    expected[100:]]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "field"),
    [("metric=csat_n", "metric"), ("metric=%3Cb%3E", "metric"), ("period=2y", "period"),
     ("from=2026-13-01&to=2026-12-01", "from"), ("survey=x", "survey"),
     ("team=%00", "team"), ("metric=closed%00", "metric")],
)  # fmt: skip
def test_an_unreadable_view_is_a_422_naming_the_field(as_manager, query, field):
    response = as_manager.get(f"/dashboard/cases?{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"“{field}”" in page and "<b>" not in page


def test_signed_out_visitors_go_to_sign_in(client, facts):
    for path in ("/dashboard/cases?metric=closed", "/dashboard/cases/N-1"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/sign-in" in response.location


def test_every_reader_sees_the_list(client, users, facts):
    from tests.conftest import sign_in

    for role in ("admin", "lead", "manager"):
        sign_in(client, f"{role}@example.com")
        assert client.get("/dashboard/cases?metric=negative").status_code == 200, role
        client.post("/admin/sign-out")


def test_the_cadence_column_shows_the_lineages_current_name(as_manager, app, seeded):
    cadence = db.session.scalar(sa.select(Cadence).where(Cadence.is_default.is_(True)))
    add_facts(add_cases(1), cadence=cadence.lineage)
    roll_up_stored()
    page = as_manager.get(f"/dashboard/cases?cadence={cadence.lineage}").get_data(as_text=True)
    assert case_links(page) == ["C-1"] and f"<td>{cadence.name}</td>" in page


def answered_case(client, auth, comment: str = HOSTILE, score: int = 1, team=None) -> Case:
    """Case O-1 (of a team) closed through the API, its survey sent (dev channel) and
    answered with the reason "slow"."""
    assert close(client, auth, {**CASE, "team": team}).status_code == 202
    sweep_and_dispatch()
    sweep_and_dispatch(at=utcnow() + timedelta(hours=24, minutes=1))
    invitation = db.session.scalar(sa.select(SurveyInvitation))
    record_response(invitation, score=score, comment=comment, reason_codes=["slow"],
                    answers={"make_right": "<i>call</i> me"}, channel="web",
                    now=utcnow())  # fmt: skip
    db.session.commit()
    return db.session.scalar(sa.select(Case).where(Case.external_id == "O-1"))


def test_a_case_page_shows_its_timeline_with_the_customers_words_escaped(as_manager, seeded):
    case = answered_case(as_manager, seeded["auth"])
    response = as_manager.get("/dashboard/cases/O-1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "<i>call" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;call&lt;/i&gt; me" in page  # the extra answer
    assert "Ana Lima" in page and "Broken &lt;b&gt;kettle&lt;/b&gt;" in page
    assert "Sam Rivera" in page and "Round 1" in page and "Score 1" in page
    assert "Reasons: slow" in page
    for kind in ("case.created", "case.closed", "message.sent", "response.recorded"):
        assert kind in page, kind
    assert "score: 1" in page and "reason codes: slow" in page  # a detail, readably
    assert page.index("case.created") < page.index("case.closed") < page.index("response.")
    assert re.search(r"<td>sent</td>", page)
    # The negative answer started a recovery, listed with what was done.
    assert "Recoveries" in page and ("badge" in page and "started" in page)
    assert case.status == "closed"


def test_an_unknown_case_is_a_404_page(as_manager):
    for path in ("NOPE-1", "a/b", "x" * 201, "%00"):
        response = as_manager.get(f"/dashboard/cases/{path}")
        assert response.status_code == 404, path
        assert "Page not found" in response.get_data(as_text=True)
