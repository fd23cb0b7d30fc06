"""Fixtures that several app test modules use: a negative answer and its recovery, a surveyed
case, a check-in text sent, four rounds answered through the pages, and fact rows."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Case, Customer, Message, Survey
from followup.models.base import utcnow
from followup.setup import ensure_standard_setup
from surveys.invitations import invitations_for
from surveys.tokens import token_for
from tests.support.answers import (
    SURVEY_SECRET,
    SURVEY_SUBJECT,
    TWILIO_TOKEN,
    answer_on_page,
    record_negative_answer,
    survey_token,
)
from tests.support.cases import close, later, sweep_and_dispatch
from tests.support.figures import CUSTOMERS, add_cases, add_facts, roll_up_stored


@pytest.fixture
def negative_answer(app, seeded):
    """Record a first negative answer on a new closed case; returns its recovery."""
    numbers = iter(range(1, 1000))
    return lambda **answer: record_negative_answer(next(numbers), **answer)


@pytest.fixture
def survey_case(app):
    """A closed case whose check-in (sent) carries an invitation, with two pending messages:
    a "no_answer" reminder and an "always" message."""
    ensure_standard_setup()
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    customer = Customer(name="Ada Lovelace", email="ada@example.com", timezone="Europe/London")
    case = Case(
        external_id="CASE-1", customer=customer, subject=SURVEY_SUBJECT, status="closed", round=1
    )
    db.session.add(case)
    db.session.flush()
    now = utcnow()

    def message(key: str, condition: str, status: str, due_in: timedelta) -> Message:
        row = Message(
            case_id=case.id,
            customer_id=customer.id,
            round=1,
            channel="email",
            recipient=customer.email,
            condition=condition,
            due_at=now + due_in,
            status=status,
            idempotency_key=f"test-{key}",
        )
        db.session.add(row)
        return row

    checkin = message("checkin", "always", "sent", timedelta(0))
    reminder = message("reminder", "no_answer", "scheduled", timedelta(days=2))
    always = message("always", "always", "scheduled", timedelta(days=3))
    db.session.flush()
    invitation = invitations_for([(checkin, survey)], SURVEY_SECRET, now, 14)[checkin.id]
    db.session.commit()
    return {
        "case_id": case.id,
        "invitation_id": invitation.id,
        "invitation": invitation,
        "survey": survey,
        "token": token_for(SURVEY_SECRET, invitation.nonce),
        "reminder_id": reminder.id,
        "always_id": always.id,
    }


@pytest.fixture
def twilio(app):
    app.config["TWILIO_AUTH_TOKEN"] = TWILIO_TOKEN
    return app


@pytest.fixture
def checked_in(twilio, client, seeded):
    """A closed case whose check-in text (with its survey) has gone out."""
    close(client, seeded["auth"])
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    sms = db.session.scalar(sa.select(Message).where(Message.channel == "sms"))
    assert sms.status == "sent"
    return sms


@pytest.fixture
def four_rounds(app, client, seeded):
    """Four email customers' cases closed, surveyed, answered (or not) and recovered (or
    not), as CUSTOMERS says."""
    for external_id, team, agent, *_ in CUSTOMERS:
        body = {
            "external_id": external_id,
            "subject": f"Case {external_id}",
            "team": team,
            "agent": {"name": agent},
            "customer": {"name": "Ana Lima", "email": f"{external_id.lower()}@example.com"},
        }
        assert close(client, seeded["auth"], body).status_code == 202  # fmt: skip
    sweep_and_dispatch(at=later(hours=25))
    for external_id, _, _, score, reasons, _ in CUSTOMERS:
        if score is not None:
            token = survey_token(app, f"{external_id.lower()}@example.com")
            assert answer_on_page(client, token, score, reasons).status_code == 303
    sweep_and_dispatch(at=later(days=3, hours=26))  # apologies, check-ins, reminders
    for external_id, *_, check_in in CUSTOMERS:
        if check_in is not None:
            token = survey_token(app, f"{external_id.lower()}@example.com")
            assert answer_on_page(client, token, check_in).status_code == 303
    return client


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
