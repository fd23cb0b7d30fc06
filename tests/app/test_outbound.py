"""Outbound calls that fail: retried with backoff while a retry may help, then given up with
a person alerted (the helpdesk reopen, the credit) and the failure on the case's timeline."""

from datetime import timedelta

import sqlalchemy as sa

from followup import outbound
from followup.extensions import db
from followup.models import Alert, CaseEvent, Gesture, OutboundCall
from followup.models.base import utcnow
from tests.support.answers import gesture_type

CLOSED_PORT = "http://127.0.0.1:9/hook"  # nothing listens on the discard port


def run_due(at) -> dict:
    token = outbound.claim_calls(at, 50, 60)
    db.session.commit()
    return outbound.run_calls(token) if token else {}


def test_an_unreachable_endpoint_is_retried_then_given_up(app, negative_answer):
    app.config.update(EVENTS_WEBHOOK_URL=CLOSED_PORT, EVENTS_WEBHOOK_SECRET="whsec_" + "A" * 32,
                      CALL_MAX_ATTEMPTS=2)  # fmt: skip
    negative_answer()
    planned = db.session.scalars(sa.select(OutboundCall.key).order_by(OutboundCall.id)).all()
    assert [key.split(":")[0] for key in planned] == [
        "response.created",
        "recovery.started",
        "gesture.issued",
    ]
    assert run_due(utcnow()) == {"done": 0, "retry": 3, "failed": 0, "held": 0}
    call = db.session.scalar(sa.select(OutboundCall).order_by(OutboundCall.id))
    assert call.status == "pending" and call.attempts == 1
    assert "ConnectionError" in call.error and call.due_at > utcnow()
    assert run_due(utcnow()) == {}  # not due again yet
    assert run_due(utcnow() + timedelta(hours=2)) == {"done": 0, "retry": 0, "failed": 3, "held": 0}
    assert {c.status for c in db.session.scalars(sa.select(OutboundCall))} == {"failed"}


def test_a_credit_that_never_goes_through_is_handed_to_a_person(app, negative_answer):
    app.config.update(EVENTS_WEBHOOK_SECRET="whsec_" + "A" * 32, CALL_MAX_ATTEMPTS=1)
    gesture_type("account-credit").webhook_url = CLOSED_PORT
    db.session.commit()
    found = negative_answer(make_right="a refund")
    assert run_due(utcnow())["failed"] == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(Gesture.status)) == "failed"
    alert = db.session.scalar(sa.select(Alert).where(Alert.kind == "credit.failed"))
    assert alert.audience == "lead" and "ConnectionError" in alert.detail
    events = db.session.scalars(
        sa.select(CaseEvent.kind).where(CaseEvent.case_id == found.case_id)
    ).all()
    assert "credit.failed" in events


def test_without_a_helpdesk_connector_a_reopen_is_a_task_for_a_manager(app, negative_answer):
    found = negative_answer()
    outbound.plan_call("helpdesk", "helpdesk:reopen:test", {"note": "n"}, found.case_id, utcnow())
    db.session.commit()
    assert run_due(utcnow())["failed"] == 1
    alert = db.session.scalar(sa.select(Alert).where(Alert.kind == "helpdesk.failed"))
    assert alert.audience == "manager" and "by hand" in alert.detail
