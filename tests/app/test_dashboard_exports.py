"""The dashboard's CSV exports: answers and the cases behind a number, with the filters;
attachments in UTF-8, formulas neutralised, streamed (a generator, rows read in chunks)
so many rows export whole; bad filters are a 422 naming the field."""

import csv
import io
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from followup import rollups
from followup.extensions import db
from followup.models import Customer, Message, Response, Survey, SurveyInvitation
from followup.models.base import utcnow
from followup.models.figures import RoundFact
from tests.support.cases import answered_case
from tests.support.figures import add_cases, add_facts, roll_up_stored


def parsed(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_answers_export_one_row_per_answer_with_formulas_neutralised(as_manager, seeded):
    answered_case(as_manager, seeded["auth"], comment='=HYPERLINK("http://x") <b>late café',
                  team="+Billing")  # fmt: skip
    rollups.refresh(utcnow(), lag_seconds=0)
    response = as_manager.get("/dashboard/export/answers.csv?period=7d")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="answers-') and ".csv" in disposition
    [row] = parsed(response)
    assert row["case"] == "O-1" and row["survey"] == "csat" and row["score"] == "1"
    assert row["verdict"] == "negative" and row["reasons"] == "slow"
    assert row["comment"] == '\'=HYPERLINK("http://x") <b>late café'
    assert row["team"] == "'+Billing" and row["agent"] == "Sam Rivera"
    assert row["extra answers"] == '{"make_right": "<i>call</i> me"}'
    assert row["answered by"] == "web" and row["recovery check-in"] == "no"
    assert row["channel"] == "sms" and row["cadence"] == "Standard"
    assert datetime.fromisoformat(row["closed at"]).date() == utcnow().date()
    # Another team's view has no answers; a header still.
    other = as_manager.get("/dashboard/export/answers.csv?team=Support").get_data(as_text=True)
    assert other.splitlines() == [",".join(next(csv.reader([other.splitlines()[0]])))]


def test_cases_export_is_the_drill_down(as_manager, facts):
    response = as_manager.get("/dashboard/export/cases.csv?metric=negative")
    assert response.status_code == 200
    assert 'filename="cases-negative-' in response.headers["Content-Disposition"]
    rows = parsed(response)
    assert [row["case"] for row in rows] == ["N-3", "N-2", "N-1"]
    assert [row["outcome"] for row in rows] == ["escalated", "recovered", "open"]
    assert rows[1]["reasons"] == "slow, rude" and rows[1]["team"] == "Billing"
    narrowed = as_manager.get("/dashboard/export/cases.csv?metric=negative&reason=rude")
    assert [row["case"] for row in parsed(narrowed)] == ["N-2"]


@pytest.mark.parametrize(
    ("path", "field"),
    [("cases.csv?metric=nope", "metric"), ("cases.csv?period=1d", "period"),
     ("answers.csv?to=yesterday&from=2026-01-01", "to"), ("answers.csv?team=" + "x" * 201, "team"),
     ("answers.csv?agent=a%00b", "agent"), ("cases.csv?reason=%00", "reason")],
)  # fmt: skip
def test_bad_filters_are_a_422_naming_the_field(as_manager, path, field):
    response = as_manager.get(f"/dashboard/export/{path}")
    assert response.status_code == 422 and f"“{field}”" in response.get_data(as_text=True)


def test_signed_out_visitors_get_no_export(client):
    response = client.get("/dashboard/export/answers.csv")
    assert response.status_code == 302 and "/admin/sign-in" in response.location


MANY = 5000


@pytest.fixture
def many_answers(seeded):
    """MANY answered rounds, made with bulk inserts through the real models."""
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    case_ids = add_cases(MANY, "M")
    customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.email == "m@example.com"))
    now = utcnow()
    db.session.execute(
        sa.insert(Message),
        [dict(case_id=case_id, customer_id=customer_id, round=1, channel="email",
              due_at=now, status="sent", idempotency_key=f"m-{case_id}", condition="always",
              attempts=0, created_at=now, updated_at=now) for case_id in case_ids],
    )  # fmt: skip
    messages = dict(db.session.execute(sa.select(Message.case_id, Message.id)).all())
    db.session.execute(
        sa.insert(SurveyInvitation),
        [dict(survey_id=survey.id, case_id=case_id, customer_id=customer_id, round=1,
              message_id=messages[case_id], channel="email", nonce=f"n{case_id}",
              token_hash=f"h{case_id}", expires_at=now + timedelta(days=14), created_at=now)
         for case_id in case_ids],
    )  # fmt: skip
    invitations = dict(
        db.session.execute(sa.select(SurveyInvitation.case_id, SurveyInvitation.id)).all()
    )
    db.session.execute(
        sa.insert(Response),
        [dict(invitation_id=invitations[case_id], case_id=case_id, survey_id=survey.id,
              round=1, score=1 + case_id % 5, comment=f"-{case_id} said", reason_codes=[],
              answers={}, channel="web", created_at=now, updated_at=now)
         for case_id in case_ids],
    )  # fmt: skip
    add_facts(case_ids, responded=1, negative=1)
    roll_up_stored()
    return case_ids


def test_many_rows_export_streamed_and_whole(app, as_manager, many_answers):
    with app.test_request_context("/dashboard/export/answers.csv?period=7d"):
        view = app.view_functions["dashboard.export_answers"]()
        assert view.is_streamed and not isinstance(view.response, list | tuple)
        first = next(iter(view.response))  # written as it is read: the header and a chunk
        assert first.startswith(b"case,round,closed at") and first.count(b"\n") < MANY / 10
        view.close()  # a download stopped half way closes its cursor
    response = as_manager.get("/dashboard/export/answers.csv?period=7d")
    rows = parsed(response)
    assert len(rows) == MANY
    assert rows[0]["comment"] == f"'-{many_answers[0]} said"  # oldest first, neutralised
    assert {row["verdict"] for row in rows} == {"negative", "neutral", "positive"}
    cases = parsed(as_manager.get("/dashboard/export/cases.csv?metric=negative&period=7d"))
    assert len(cases) == MANY and cases[0]["case"] == f"M-{MANY}"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RoundFact)) == MANY


def test_the_figures_tables_export_with_rates_beside_their_counts(as_manager, seeded):
    answered_case(as_manager, seeded["auth"], team="Billing")
    rollups.refresh(utcnow(), lag_seconds=0)
    [team] = parsed(as_manager.get("/dashboard/export/team.csv"))
    assert team["team"] == "Billing" and team["closed"] == "1"
    assert (team["Negative %"], team["Negative: negative"], team["Negative: responded"]) == (
        "100.0",
        "1",
        "1",
    )
    assert team["Recovery rate %"] == "0.0" and team["Recovery rate: small"] == "yes"
    [cadence] = parsed(as_manager.get("/dashboard/export/cadence.csv"))
    assert cadence["cadence"] == "Standard"
    [agent] = parsed(as_manager.get("/dashboard/export/agent.csv?sort=name&dir=asc"))
    assert agent["closed"] == "1"
    [reason] = parsed(as_manager.get("/dashboard/export/reason.csv"))
    assert (reason["reason"], reason["label"], reason["negative"]) == (
        "slow",
        "It took too long",
        "1",
    )
    assert reason["rising"] == "yes"
    weeks = parsed(as_manager.get("/dashboard/export/trends.csv"))
    assert len(weeks) == 12 and weeks[-1]["week to"] == str(utcnow().date())
    assert weeks[-1]["CSAT: csat_n"] == "1" and weeks[-1]["CSAT %"] == "0.0"
    assert weeks[0]["CSAT %"] == "" and weeks[0]["CSAT: csat_n"] == "0"
    response = as_manager.get("/dashboard/export/channel.csv?team=Nobody")
    assert response.get_data(as_text=True).startswith("channel,closed,Response rate %")
    assert 'filename="channel-' in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [("variant.csv", 404, "Page not found"), ("team.csv?sort=cost", 422, "“sort”"),
     ("trends.csv?dir=up", 422, "“dir”"), ("reason.csv?period=x", 422, "“period”")],
)  # fmt: skip
def test_an_unknown_table_or_bad_view_is_refused(as_manager, path, status, text):
    response = as_manager.get(f"/dashboard/export/{path}")
    assert response.status_code == status and text in response.get_data(as_text=True)
