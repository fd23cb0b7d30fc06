"""The outbox in one process: sweep claims, dispatch re-checks, renders and sends (dev channel)."""

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from followup import outbox
from followup.cadences import SendingHours
from followup.extensions import db
from followup.models import Cadence, Case, CaseEvent, Message, Suppression
from followup.models.base import utcnow
from tests.support.cases import CASE, close, sent_messages, sweep_and_dispatch


def statuses() -> dict[str, str]:
    rows = db.session.execute(sa.select(Message.id, Message.status).order_by(Message.id)).all()
    return [status for _, status in rows]


def test_thank_you_goes_out_now_and_the_check_in_when_due(app, client, seeded):
    close(client, seeded["auth"])
    assert sweep_and_dispatch() == [
        {"sent": 1, "retry": 0, "failed": 0, "skipped": 0, "released": 0}
    ]
    [thank_you] = sent_messages(app)
    assert thank_you["to"] == "ana@example.com"
    assert thank_you["subject"] == 'Thanks for your patience with "Broken <b>kettle</b>"'
    assert "Hi Ana," in thank_you["text"] and "Sam Rivera" in thank_you["text"]
    assert "Broken &lt;b&gt;kettle&lt;/b&gt;" in thank_you["html"]
    assert statuses() == ["sent", "scheduled", "scheduled"]

    assert sweep_and_dispatch() == []  # nothing else is due yet
    sweep_and_dispatch(at=utcnow() + timedelta(hours=24, minutes=1))
    check_in = sent_messages(app)[-1]
    assert check_in["channel"] == "sms" and check_in["to"] == "+14155550123"
    link = re.search(r"http://followup.test(/s/\S+)", check_in["text"]).group(1)
    assert client.get(link).status_code == 200
    assert statuses() == ["sent", "sent", "scheduled"]

    document = client.get("/api/v1/cases/O-1", headers=seeded["auth"]).json
    sent_events = [e for e in document["timeline"] if e["kind"] == "message.sent"]
    assert [e["detail"]["step"] for e in sent_events] == ["thank-you", "check-in"]
    assert all(m["provider_id"].startswith("dev-") for m in document["messages"][:2])


def test_a_sent_message_keeps_what_it_said_without_its_links(app, client, seeded):
    """The email's subject and text part, and the text message, are kept as sent, but with
    placeholders for the survey and unsubscribe links: their tokens are stored hashed only."""
    close(client, seeded["auth"])
    email_only = {"name": "Bo Berg", "email": "bo@example.com"}
    close(client, seeded["auth"], {**CASE, "external_id": "O-2", "customer": email_only})
    sweep_and_dispatch(at=utcnow() + timedelta(hours=24, minutes=1))
    sent = sent_messages(app)
    assert sorted((out["channel"], out["to"]) for out in sent) == [
        ("email", "ana@example.com"), ("email", "bo@example.com"), ("email", "bo@example.com"),
        ("sms", "+14155550123"),
    ]  # fmt: skip
    tokens = set()
    for out in sent:
        tokens |= set(re.findall(r"http://followup\.test/[su]/([\w-]+)", out["text"]))
        body = re.sub(r"http://followup\.test/s/[\w-]+(\?score=\d+)?", "[survey link]", out["text"])
        body = re.sub(r"http://followup\.test/u/[\w-]+", "[unsubscribe link]", body)
        message = db.session.get_one(Message, out["message_id"])
        assert (message.subject, message.body) == (out["subject"] or None, body)
    bodies = db.session.scalars(sa.select(Message.body).where(Message.status == "sent")).all()
    assert any(body.endswith("tap [survey link]") for body in bodies)  # the text
    assert any("5: [survey link]" in body and "Unsubscribe from these emails: [unsubscribe link]"
               in body for body in bodies)  # fmt: skip
    rows = json.dumps(db.session.execute(sa.select(Message.__table__)).all(), default=str)
    assert len(tokens) == 5  # each email's unsubscribe link, each check-in's survey
    assert [token for token in tokens if token in rows] == []


def test_reopened_case_cancels_claimed_messages_before_they_are_sent(app, client, seeded):
    close(client, seeded["auth"])
    tokens = []
    outbox.sweep(lambda channel, token: tokens.append(token), queued_batches=0)
    client.post("/api/v1/cases/O-1/reopen", headers=seeded["auth"])
    assert outbox.dispatch(tokens[0])["sent"] == 0
    assert sent_messages(app) == []
    assert statuses() == ["cancelled"] * 3


def test_an_answer_cancels_the_reminder_but_not_the_check_in(app, client, seeded):
    from followup.answers import record_answer

    close(client, seeded["auth"])
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    invitation = db.session.scalar(sa.select(Message).where(Message.channel == "sms"))
    from followup.models import SurveyInvitation

    invitation = db.session.scalar(sa.select(SurveyInvitation))
    record_answer(
        invitation, score=5, comment="", reason_codes=[], answers={}, channel="web", now=utcnow()
    )
    db.session.commit()
    sweep_and_dispatch(at=utcnow() + timedelta(hours=73))
    assert statuses() == ["sent", "sent", "cancelled"]
    assert len(sent_messages(app)) == 2


def test_a_late_job_for_an_expired_claim_sends_nothing(app, client, seeded):
    close(client, seeded["auth"])
    first = []
    outbox.sweep(lambda channel, token: first.append(token), queued_batches=0)
    later = utcnow() + timedelta(seconds=app.config["LEASE_SECONDS"] + 1)
    second = []
    outbox.sweep(lambda channel, token: second.append(token), queued_batches=0, now=later)
    assert len(second) == 1 and second != first
    assert outbox.dispatch(first[0])["sent"] == 0
    assert outbox.dispatch(second[0])["sent"] == 1
    assert outbox.dispatch(second[0])["sent"] == 0  # a duplicated job is harmless
    assert len(sent_messages(app)) == 1


def test_an_interrupted_send_is_sent_again_after_the_lease_and_noted(app, client, seeded):
    close(client, seeded["auth"])
    tokens = []
    outbox.sweep(lambda channel, token: tokens.append(token), queued_batches=0)
    # A worker died after marking the row as sending: the lease runs out, a sweep reclaims it.
    db.session.execute(
        sa.update(Message)
        .where(Message.claim_token == tokens[0])
        .values(status="sending", attempts=1)
    )
    db.session.commit()
    sweep_and_dispatch(at=utcnow() + timedelta(seconds=app.config["LEASE_SECONDS"] + 1))
    assert statuses()[0] == "sent"
    kinds = db.session.scalars(sa.select(CaseEvent.kind).order_by(CaseEvent.id)).all()
    assert "message.resending" in kinds


def test_opt_out_after_planning_suppresses_at_dispatch(app, client, seeded):
    close(client, seeded["auth"])
    case = db.session.scalar(sa.select(Case))
    # On the list behind the planner's back (as if by hand in the database): dispatch checks too.
    db.session.add(Suppression(channel="email", address=case.customer.email, reason="test"))
    db.session.commit()
    sweep_and_dispatch()
    assert statuses()[0] == "suppressed"
    assert sent_messages(app) == []


def test_sweep_waits_while_the_dispatch_queue_is_full(app, client, seeded):
    close(client, seeded["auth"])
    result = outbox.sweep(lambda *a: None, queued_batches=app.config["MAX_QUEUED_BATCHES"])
    assert result.skipped_busy and result.claimed_batches == []
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Message.claim_token.is_not(None))) == 0
    )


def test_sweep_claims_batches_round_robin_within_the_room(app, client, seeded):
    for n in range(3):
        body = {**CASE, "external_id": f"O-{n}"}
        body["customer"] = {
            "name": f"C{n}",
            "email": f"c{n}@example.com",
            "phone": f"+1415555000{n}",
        }
        close(client, seeded["auth"], body)
    app.config["BATCH_SIZE"] = 1
    due = utcnow() + timedelta(hours=25)  # 3 thank-you emails and 3 check-in texts are due
    claimed = outbox.sweep(lambda *a: None, queued_batches=0, now=due).claimed_batches
    assert [channel for channel, _ in claimed] == ["email", "sms"] * 3
    app.config["MAX_QUEUED_BATCHES"] = 3
    db.session.execute(sa.update(Message).values(claim_token=None, locked_until=None))
    db.session.commit()
    claimed = outbox.sweep(lambda *a: None, queued_batches=0, now=due).claimed_batches
    assert [channel for channel, _ in claimed] == ["email", "sms", "email"]


def hours_excluding_now() -> SendingHours:
    """A one-hour sending window that starts two hours from now: now is quiet."""
    now = utcnow().replace(second=0, microsecond=0)
    start, end = (now + timedelta(hours=2)).time(), (now + timedelta(hours=3)).time()
    return SendingHours(start, end, ZoneInfo("UTC"))


def test_a_check_in_due_in_quiet_hours_is_planned_for_the_next_allowed_minute(app, client, seeded):
    app.config["SMS_HOURS"] = hours = hours_excluding_now()
    plan = close(client, seeded["auth"]).json["messages"]
    check_in = next(m for m in plan if m["channel"] == "sms")
    due = datetime.fromisoformat(check_in["due_at"])
    unrestricted = datetime.fromisoformat(plan[0]["due_at"]) + timedelta(hours=24)
    assert hours.allows(due) and timedelta(0) < due - unrestricted <= timedelta(hours=24)


def test_a_text_claimed_in_quiet_hours_is_deferred_not_sent_nor_dropped(app, client, seeded):
    close(client, seeded["auth"], cadence="Demo")
    app.config["SMS_HOURS"] = hours_excluding_now()
    sweep_and_dispatch(at=utcnow() + timedelta(seconds=15))
    sms = db.session.scalar(sa.select(Message).where(Message.channel == "sms"))
    assert sms.status == "scheduled" and sms.claim_token is None
    assert app.config["SMS_HOURS"].allows(sms.due_at) and sms.due_at > utcnow()
    [event] = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.kind == "message.deferred"))
    assert event.detail["until"] == sms.due_at.isoformat()
    assert [m["channel"] for m in sent_messages(app)] == ["email"]


def test_two_rounds_racing_to_survey_one_customer_send_one_survey(app, client, seeded):
    close(client, seeded["auth"])
    close(client, seeded["auth"], {**CASE, "external_id": "O-2"})
    # As if both closes had planned before either saw the other: undo the plan-time cap.
    db.session.execute(
        sa.update(Message).where(Message.status == "suppressed").values(status="scheduled")
    )
    db.session.commit()
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    check_ins = db.session.scalars(
        sa.select(Message).where(Message.channel == "sms").order_by(Message.id)
    ).all()
    assert [m.status for m in check_ins] == ["sent", "suppressed"]
    assert check_ins[1].error.startswith("frequency cap")
    texts = [m for m in sent_messages(app) if m["channel"] == "sms"]
    assert len(texts) == 1


def test_a_cadence_with_its_own_sending_hours_plans_and_defers_by_them(app, client, seeded):
    hours = hours_excluding_now()
    demo = db.session.scalar(sa.select(Cadence).where(Cadence.name == "Demo"))
    demo.sms_hours = f"{hours.start:%H:%M}-{hours.end:%H:%M}"
    db.session.commit()
    plan = close(client, seeded["auth"], cadence="Demo").json["messages"]
    check_in = next(m for m in plan if m["channel"] == "sms")
    assert hours.allows(datetime.fromisoformat(check_in["due_at"]))
    assert app.config["SMS_HOURS"].allows(utcnow())  # the deployment's hours would allow now


def test_a_customer_without_a_time_zone_gets_texts_in_the_cases_hours(app, client, seeded):
    # A two-hour window around the check-in's time in UTC: in Kiritimati (UTC+14) the same
    # moment is in the middle of the night by that window.
    check_in_at = (utcnow() + timedelta(hours=24)).replace(second=0, microsecond=0)
    start, end = (
        (check_in_at - timedelta(hours=1)).time(),
        (check_in_at + timedelta(hours=1)).time(),
    )
    app.config["SMS_HOURS"] = hours = SendingHours(start, end, ZoneInfo("UTC"))
    customer = {k: v for k, v in CASE["customer"].items() if k != "timezone"}
    body = {**CASE, "external_id": "TZ-1", "timezone": "Pacific/Kiritimati", "customer": customer}
    plan = close(client, seeded["auth"], body).json["messages"]
    due = datetime.fromisoformat(next(m for m in plan if m["channel"] == "sms")["due_at"])
    assert due - check_in_at > timedelta(hours=2)  # deferred: UTC hours would have sent it
    assert hours.in_zone("Pacific/Kiritimati").allows(due)
    assert client.get("/api/v1/cases/TZ-1", headers=seeded["auth"]).json["case"]["timezone"] == (
        "Pacific/Kiritimati"
    )
    bad = client.post("/api/v1/cases", json={**body, "timezone": "Mars/Olympus"},
                      headers=seeded["auth"])  # fmt: skip
    assert bad.status_code == 422 and bad.json["fields"][0]["field"] == "timezone"
