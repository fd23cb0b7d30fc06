"""The drill-down: the case rounds behind a number (filters, the counter, a reason, pages,
the count), a bad metric or filter as a 422 naming it, and a case's timeline for people with
the customer's words escaped; signed-out visitors go to the sign-in page."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Cadence
from tests.support.cases import answered_case
from tests.support.console import sign_in
from tests.support.figures import add_cases, add_facts, roll_up_stored


def case_links(page: str) -> list[str]:
    return re.findall(r'<a href="/dashboard/cases/([^"]+)">', page)


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
    assert "<summary>What it said</summary>" in page  # the thank-you's text, escaped
    assert "Broken &lt;b&gt;kettle&lt;/b&gt;&#34; (case O-1)" in page
    # The negative answer started a recovery, listed with what was done.
    assert "Recoveries" in page and ("badge" in page and "started" in page)
    assert case.status == "closed"


def test_an_unknown_case_is_a_404_page(as_manager):
    for path in ("NOPE-1", "a/b", "x" * 201, "%00"):
        response = as_manager.get(f"/dashboard/cases/{path}")
        assert response.status_code == 404, path
        assert "Page not found" in response.get_data(as_text=True)
