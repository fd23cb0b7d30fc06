"""A case's history: every message, response and recovery of it and its timeline, in order.
The API's case document and the dashboard's case page are each shaped from it."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from followup.extensions import db
from followup.models import Case, CaseEvent, Message, Response
from followup.recovery_queue import queue_entries

MAX_RECOVERIES = 100


@dataclass(frozen=True)
class CaseHistory:
    messages: list[Message]  # by due time
    responses: list[Response]  # in the order they came
    recoveries: list[dict]  # as the recovery queue shows them (recovery_queue.queue_entries)
    timeline: list[CaseEvent]  # by time


def case_history(case: Case, now: datetime) -> CaseHistory:
    messages = db.session.scalars(
        sa.select(Message)
        .options(joinedload(Message.step))  # each message names its step
        .where(Message.case_id == case.id)
        .order_by(Message.due_at, Message.id)
    ).all()
    responses = db.session.scalars(
        sa.select(Response).where(Response.case_id == case.id).order_by(Response.id)
    ).all()
    events = db.session.scalars(
        sa.select(CaseEvent)
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.at, CaseEvent.id)
    ).all()
    recoveries = queue_entries(None, now, MAX_RECOVERIES, case.id)
    return CaseHistory(list(messages), list(responses), recoveries, list(events))
