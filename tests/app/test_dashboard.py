"""The figures page and its JSON: figures against values computed here from the rounds,
breakdowns with small samples flagged, sorting, trends, funnel, reasons, links to the
cases, who may see it, and bad filters (422 page and JSON)."""

import re
import statistics
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Gesture, Recovery, Response
from followup.models.figures import (
    COUNTERS,
)
from tests.support.console import sign_in
from tests.support.figures import TODAY, refresh_all, roll_up, round_fact


def expected(facts, team=None, start=TODAY - timedelta(days=29), end=TODAY):
    chosen = [f for f in facts if start <= f.day <= end and (team is None or f.team == team)]
    return {c: sum(f.counts[c] for f in chosen) for c in COUNTERS}


def figures(client, **args):
    response = client.get("/dashboard/figures.json", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_json_figures_match_the_rounds(as_manager, rounds):
    sums = expected(rounds)
    body = figures(as_manager, period="30d")
    assert body["sums"] == sums
    head = body["headline"]
    assert (head["csat"]["numerator"], head["csat"]["denominator"]) == (
        sums["csat_positive"],
        sums["csat_n"],
    )
    assert head["csat"]["value"] == pytest.approx(sums["csat_positive"] / sums["csat_n"])
    assert head["response"]["numerator"] == 36 and head["response"]["denominator"] == 40
    assert head["recovery"]["value"] == pytest.approx(sums["recovered"] / sums["negative"])
    assert head["escalated"]["numerator"] == sums["escalated"]
    assert head["reopened"] == {**head["reopened"], "numerator": 1, "denominator": 40}
    assert head["cost_per_recovered"]["value"] == pytest.approx(
        sums["gesture_cost_cents"] / 100 / sums["recovered"]
    )
    start = TODAY - timedelta(days=29)
    recovered = [f.counts["recovery_seconds"] for f in rounds
                 if f.counts["recovered"] and f.day >= start]  # fmt: skip
    assert head["median_recovery"]["value"] == pytest.approx(statistics.median(recovered))
    # The previous period: 10 positive answers.
    assert body["previous"]["csat"]["value"] == 1.0
    assert body["previous"]["csat"]["denominator"] == 10
    assert body["previous"]["median_recovery"]["value"] == 600


def test_team_filter_narrows_every_figure(as_manager, rounds):
    body = figures(as_manager, period="30d", team="South")
    assert body["sums"] == expected(rounds, team="South")
    assert body["headline"]["csat"]["value"] is None
    assert [row["key"] for row in body["breakdowns"]["agent"]] == ["bo"]


def test_breakdowns_flag_small_samples_after_ranked_rows(as_manager, rounds):
    body = figures(as_manager, period="30d", sort="response")
    teams = body["breakdowns"]["team"]
    # South's 4 deliveries are a small sample: after North whatever its rate (0% < 100%).
    assert [row["key"] for row in teams] == ["North", "South"]
    assert teams[1]["rates"]["response"] == {"numerator": 0, "denominator": 4, "value": 0.0,
                                             "small_sample": True}  # fmt: skip
    assert teams[0]["rates"]["response"]["small_sample"] is False
    assert body["breakdowns"]["cadence"][0]["label"] == "Standard follow-up"


def test_funnel_and_reasons(as_manager, rounds):
    sums = expected(rounds)
    body = figures(as_manager, period="30d")
    steps = {step["metric"]: step for step in body["funnel"]}
    assert steps["negative"]["count"] == sums["negative"]
    assert steps["negative"]["conversion"]["denominator"] == sums["responded"]
    assert steps["recovered"]["conversion"]["numerator"] == sums["recovered"]
    named = Counter(r for f in rounds if f.counts["negative"] and f.day >= TODAY - timedelta(29)
                    for r in f.reasons)  # fmt: skip
    got = {row["reason"]: row for row in body["reasons"]}
    assert {code: row["negative"] for code, row in got.items()} == dict(named)
    assert all(row["rising"] and row["previous"] == 0 for row in got.values())


def test_trends_cover_twelve_weeks_ending_today(as_manager, rounds):
    trend = figures(as_manager, period="30d")["trends"]
    assert len(trend) == 12 and trend[-1]["end"] == TODAY.isoformat()
    this_week = [f for f in rounds if f.day > TODAY - timedelta(days=7)]
    assert trend[-1]["csat"]["denominator"] == sum(f.counts["csat_n"] for f in this_week)
    assert sum(week["response"]["denominator"] for week in trend) == 50


def test_page_shows_figures_with_denominators_and_links(as_manager, rounds):
    sums = expected(rounds)
    response = as_manager.get("/dashboard/?period=30d")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    csat = round(100 * sums["csat_positive"] / sums["csat_n"])
    assert f">{csat}%</a>" in page
    assert f">{sums['csat_n']}</a> CSAT answers" in page
    assert "/dashboard/cases?metric=negative" in page
    assert "reason=slow" in page
    assert 'aria-sort="descending"' in page
    assert "small sample" in page
    assert re.search(r'<table id="trend-csat"', page)


def test_reason_filter_says_what_it_narrows(as_manager, rounds):
    page = as_manager.get("/dashboard/?period=30d&reason=slow").get_data(as_text=True)
    assert "narrows the reasons table" in page
    body = figures(as_manager, period="30d", reason="slow")
    assert [row["reason"] for row in body["reasons"]] == ["slow"]


def test_hostile_reason_code_is_shown_escaped(as_manager, app):
    roll_up([round_fact(1, TODAY, score=1, reasons=["<script>alert(1)</script>"])])
    page = as_manager.get("/dashboard/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("args, field", [
    ({"period": "week"}, "period"), ({"from": "2026-13-01", "to": "2026-12-01"}, "from"),
    ({"survey": "abc"}, "survey"), ({"sort": "drop table"}, "sort"), ({"dir": "up"}, "dir"),
    ({"from": "9999-12-25", "to": "9999-12-31"}, "from"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
])  # fmt: skip
def test_bad_filters_are_422_naming_the_field(as_manager, app, args, field):
    page = as_manager.get("/dashboard/", query_string=args)
    assert page.status_code == 422 and f"“{field}”" in page.get_data(as_text=True)
    body = as_manager.get("/dashboard/figures.json", query_string=args)
    assert body.status_code == 422 and body.get_json()["fields"][0]["field"] == field


@pytest.mark.parametrize("path", [
    "/dashboard/", "/dashboard/figures.json", "/dashboard/cases", "/dashboard/experiments",
    "/dashboard/export/cases.csv", "/dashboard/export/answers.csv", "/dashboard/root-causes",
    "/dashboard/root-causes/recoveries", "/dashboard/kudos",
])  # fmt: skip
@pytest.mark.parametrize("start, end", [("9000-12-01", "9000-12-31"), ("1970-01-01", "1970-01-31")])
def test_periods_at_the_edges_of_the_calendar_are_read(as_manager, app, path, start, end):
    """The period before and the trend's weeks reach past the period: at date.min or
    date.max they could not be made (a 500); the last dates allowed still can."""
    answer = as_manager.get(path, query_string={"from": start, "to": end})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]


def test_empty_dashboard_shows_dashes(as_manager, app):
    assert as_manager.get("/dashboard/").status_code == 200
    assert figures(as_manager)["headline"]["csat"]["value"] is None


def test_signed_out_users_go_to_sign_in(client, app):
    for path in ("/dashboard/", "/dashboard/figures.json"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/sign-in" in response.location


def test_figures_from_the_real_paths_match_the_raw_rows(four_rounds, users):  # noqa: F811
    """Cases closed through the API, surveyed through the outbox, answered on the survey
    page and recovered (or not) by the recovery loop; the rollups refreshed; the figures
    against counts made here from the raw rows."""
    refresh_all()
    first = {}  # each round's first cadence answer
    for response in db.session.scalars(
        sa.select(Response).where(Response.recovery_id.is_(None)).order_by(Response.id)
    ):
        first.setdefault(response.case_id, response)
    scores = [r.score for r in first.values()]
    costs = db.session.scalars(sa.select(Gesture.cost_cents)).all()
    recoveries = db.session.scalars(sa.select(Recovery)).all()
    recovered = [r for r in recoveries if r.status == "recovered"]
    negative = sum(s <= 2 for s in scores)
    assert sign_in(four_rounds, "manager@example.com").status_code == 303

    body = figures(four_rounds, period="7d")
    head = body["headline"]
    assert head["csat"] | {"value": None} == {
        "numerator": sum(s >= 4 for s in scores), "denominator": len(scores), "value": None,
        "small_sample": True, "metric": "responded", "of": "responded",
    }  # fmt: skip
    assert (head["response"]["numerator"], head["response"]["denominator"]) == (len(first), 4)
    assert (head["recovery"]["numerator"], head["recovery"]["denominator"]) == (
        len(recovered), negative
    )  # fmt: skip
    assert head["cost_per_recovered"]["value"] == pytest.approx(sum(costs) / 100 / len(recovered))
    [only] = recovered
    assert head["median_recovery"]["value"] == pytest.approx(
        (only.outcome_at - only.started_at).total_seconds(), abs=1
    )
    billing = {row["key"]: row for row in body["breakdowns"]["team"]}["Billing"]
    assert billing["counts"]["closed"] == 2 and billing["counts"]["recovered"] == 1
    assert {row["reason"]: row["negative"] for row in body["reasons"]} == {
        "slow": 2, "not_solved": 1
    }  # fmt: skip

    page = four_rounds.get("/dashboard/?period=7d&team=Billing").get_data(as_text=True)
    assert ">1</a> of <a" in page  # Billing: 1 recovered of its 1 negative answer
    assert "Sam Rivera" in page and "Lee Chen" not in page.split('id="by-agent"')[1]


def test_filter_choices_come_from_the_period_whatever_is_chosen(as_manager, rounds):
    for args in ("period=30d", "period=30d&team=South"):
        page = as_manager.get(f"/dashboard/?{args}").get_data(as_text=True)
        team_select = page.split('name="team"')[1].split("</select>")[0]
        assert re.findall(r'<option value="(\w+)"', team_select) == ["North", "South"]
        assert '<option value="lin1">Standard follow-up</option>' in page


def test_the_page_links_to_every_export_and_the_experiments(as_manager, rounds):
    import re
    from html import unescape

    page = as_manager.get("/dashboard/?period=30d&team=Billing").get_data(as_text=True)
    links = {unescape(href) for href in re.findall(r'href="(/dashboard/[^"]+)"', page)}
    exports = sorted(link for link in links if "/export/" in link)
    assert [link.split("?")[0] for link in exports] == [
        "/dashboard/export/agent.csv", "/dashboard/export/answers.csv",
        "/dashboard/export/cadence.csv", "/dashboard/export/channel.csv",
        "/dashboard/export/reason.csv", "/dashboard/export/team.csv",
        "/dashboard/export/trends.csv",
    ]  # fmt: skip
    assert "/dashboard/experiments" in links
    for link in [*exports, "/dashboard/experiments"]:
        response = as_manager.get(link)
        response.get_data()  # read the streamed body to its end
        response.close()
        assert response.status_code == 200, link
        if "/export/" in link:
            assert "team=Billing" in link and response.mimetype == "text/csv"
