"""Agents and their kudos: an agent user linked to their cases, a case answered by its
customer (first answer or recovery check-in) through followup.answers.record_answer."""

import sqlalchemy as sa

from followup.answers import record_answer
from followup.extensions import db
from followup.models import Case, Customer, Message, Recovery, Response, Survey, User
from followup.models.base import utcnow
from surveys.invitations import invitations_for
from tests.support.answers import SURVEY_SECRET
from tests.support.console import password_hash


def agent_user(email: str, link: str | None, delivery: str = "daily", name: str = "") -> User:
    """An agent (PASSWORD) linked to the cases of `link`, committed."""
    user = User(email=email, role="agent", name=name or email.split("@")[0].title(),
                password_hash=password_hash(), session_version=1, agent=link,
                kudos_delivery=delivery)  # fmt: skip
    db.session.add(user)
    db.session.commit()
    return user


def survey(key: str = "csat") -> Survey:
    return db.session.scalar(sa.select(Survey).where(Survey.key == key))


def answer(message: Message, score: int, comment: str = "", now=None) -> Response:
    """The customer answers the survey on this message (a new invitation each call), committed."""
    invitation = invitations_for([(message, survey())], SURVEY_SECRET, utcnow(), 14)[message.id]
    db.session.flush()
    db.session.expire(invitation)
    response, _ = record_answer(invitation, score=score, comment=comment, channel="web",
                                now=now or utcnow())  # fmt: skip
    db.session.commit()
    return response


def case_with_message(
    external_id: str,
    agent_name: str | None = "Sam Rivera",
    agent_email: str | None = None,
    team: str | None = "North",
) -> Message:
    """A closed case with a sent email (to carry a survey); the message."""
    customer = Customer(name=f"Customer {external_id}", email=f"{external_id.lower()}@example.com")
    case = Case(external_id=external_id, customer=customer, subject="Parcel", status="closed",
                round=1, agent_name=agent_name, agent_email=agent_email, team=team)  # fmt: skip
    db.session.add(case)
    db.session.flush()
    message = Message(case_id=case.id, customer_id=customer.id, round=1, channel="email",
                      recipient=customer.email, due_at=utcnow(), status="sent",
                      idempotency_key=f"sent-{external_id}")  # fmt: skip
    db.session.add(message)
    db.session.commit()
    return message


def check_in_message(recovery: Recovery) -> Message:
    """One of the recovery's planned messages, as its check-in."""
    message = db.session.scalar(
        sa.select(Message).where(Message.recovery_id == recovery.id).order_by(Message.id)
    )
    assert message is not None, "the recovery planned no message"
    return message
