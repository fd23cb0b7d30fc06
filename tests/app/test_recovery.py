"""The recovery loop through the survey page, SMS replies and the real outbox (dev channel):
apology, gesture, alert and check-in after a first negative answer; recovered, escalated or
withdrawn after that; code pools, budgets and rules; nothing done twice."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import recovery
from followup.extensions import db
from followup.goodwill import add_codes
from followup.models import (
    Alert,
    Case,
    CaseEvent,
    Gesture,
    Message,
    OutboundCall,
    Recovery,
    RecoveryTask,
    Survey,
)
from followup.models.base import utcnow
from tests.support.answers import answer_on_page, gesture_type, survey_token, text_in
from tests.support.cases import CASE, EMAIL_CASE, close, later, sent_messages, sweep_and_dispatch
from tests.support.console import csrf_token_in


def kinds(case_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
    )


def the_recovery() -> Recovery:
    db.session.expire_all()
    return db.session.scalar(sa.select(Recovery))


def recovery_messages(recovery_id: int) -> dict[str, Message]:
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(Message).where(Message.recovery_id == recovery_id).order_by(Message.id)
    )
    return {message.step.name: message for message in rows}


@pytest.fixture
def answered_by_email(app, client, seeded):
    """An email-only customer's case, closed, its check-in sent: the survey token."""
    close(client, seeded["auth"], EMAIL_CASE)
    sweep_and_dispatch(at=later(hours=25))
    return survey_token(app, "ana@example.com")


def test_a_negative_answer_on_the_page_starts_a_recovery_that_a_positive_check_in_closes(
    app, client, answered_by_email
):
    reply = answer_on_page(
        client, answered_by_email, 1, ["slow"], "Took two weeks & nobody <b>called</b>", "A call"
    )
    assert reply.status_code == 303
    started = the_recovery()
    assert started.status == "open" and started.channel == "email"
    plan = recovery_messages(started.id)
    assert list(plan) == ["apology", "recovery check-in", "recovery reminder"]
    assert {m.channel for m in plan.values()} == {"email"}
    assert plan["recovery check-in"].due_at - started.started_at == timedelta(days=3)
    assert started.answer_deadline_at == plan["recovery reminder"].due_at + timedelta(days=2)
    # "A call" is what they asked for: the rules give a call-back with the agent on it.
    task = db.session.scalar(sa.select(RecoveryTask))
    assert task.title == "Call-back from a team lead for Ana Lima"
    assert task.due_at - started.started_at == timedelta(hours=24)
    alert = db.session.scalar(sa.select(Alert))
    assert (alert.audience, alert.kind) == ("lead", "recovery.started")
    assert "Took two weeks" in alert.detail and "It took too long" in alert.detail

    sweep_and_dispatch(at=later(hours=25, minutes=31))
    apology = sent_messages(app)[-1]
    assert apology["from_name"] == "Sam Rivera (Acme Support)"
    assert "“Took two weeks & nobody <b>called</b>”" not in apology["text"]  # quoted plainly:
    assert '"Took two weeks & nobody <b>called</b>"' in apology["text"]
    assert "Took two weeks &amp; nobody &lt;b&gt;called&lt;/b&gt;" in apology["html"]
    assert "it took too long" in apology["text"]
    assert "a call from a team lead" in apology["text"] and '"A call"' in apology["text"]

    sweep_and_dispatch(at=later(days=3, hours=26))
    check_in = sent_messages(app)[-1]
    assert check_in["subject"] == "Did we make it right?"
    assert answer_on_page(client, survey_token(app, "ana@example.com"), 5).status_code == 303
    done = the_recovery()
    assert done.status == "recovered" and done.outcome_reason == "check-in answered 5"
    assert recovery_messages(done.id)["recovery reminder"].status == "cancelled"
    assert kinds(done.case_id)[-2:] == ["response.recorded", "recovery.succeeded"]


def test_negative_by_text_then_negative_again_escalates_once(app, client, checked_in, seeded):
    assert text_in(client, "1").count("What went wrong?") == 1
    text_in(client, "Nobody called me back")
    started = the_recovery()
    assert started.channel == "sms"
    sweep_and_dispatch(at=later(hours=25, minutes=31))
    apology = sent_messages(app)[-1]
    assert apology["channel"] == "sms" and apology["to"] == CASE["customer"]["phone"]
    assert "Sam Rivera from Acme Support here" in apology["text"]

    sweep_and_dispatch(at=later(days=3, hours=26))
    assert "did Acme Support make case O-1 right?" in sent_messages(app)[-1]["text"]
    assert "Someone from our team will contact you personally" in text_in(client, "2 still broken")
    text_in(client, "2 still broken")  # a second reply changes nothing more
    escalated = the_recovery()
    assert escalated.status == "escalated"
    assert escalated.outcome_reason == "check-in answered 2/5: still negative"
    case = db.session.get(Case, escalated.case_id)
    assert case.status == "open" and case.escalated_at is not None
    events = kinds(case.id)
    assert events.count("recovery.escalated") == 1 and events.count("case.reopened") == 1
    manager = db.session.scalar(sa.select(Alert).where(Alert.audience == "manager"))
    assert "Nobody called me back" in manager.detail and "still broken" in manager.detail
    assert "apology (sms): sent" in manager.detail

    # Closed again in the helpdesk: the thank-you goes, no survey ever does.
    reclosed = close(client, seeded["auth"]).get_json()
    surveyed = [m for m in reclosed["messages"] if m["step"] in ("check-in", "reminder")]
    assert {m["status"] for m in surveyed} == {"suppressed"}
    assert {m["error"] for m in surveyed} == {
        "feedback stayed negative and a person took over this case"
    }


def test_no_answer_to_the_check_in_escalates_after_the_reminder(app, client, answered_by_email):
    answer_on_page(client, answered_by_email, 2, ["not_solved"])
    started_id, deadline = the_recovery().id, the_recovery().answer_deadline_at
    assert recovery.expire_overdue(later(days=30)) == 0  # the check-in is still to be sent
    sweep_and_dispatch(at=later(days=6, hours=2))
    assert {m.status for m in recovery_messages(started_id).values()} == {"sent"}
    assert recovery.expire_overdue(deadline - timedelta(minutes=1)) == 0
    assert recovery.expire_overdue(deadline + timedelta(minutes=1)) == 1
    assert recovery.expire_overdue(later(days=30)) == 0
    db.session.commit()
    assert the_recovery().outcome_reason == "no answer to the recovery check-in"


def test_a_changed_answer_withdraws_and_resumes_without_a_second_gesture(
    app, client, answered_by_email
):
    answer_on_page(client, answered_by_email, 1)
    started = the_recovery()
    answer_on_page(client, answered_by_email, 4)
    assert the_recovery().status == "withdrawn"
    assert {m.status for m in recovery_messages(started.id).values()} == {"cancelled"}
    answer_on_page(client, answered_by_email, 2)
    assert the_recovery().status == "open"
    assert {m.status for m in recovery_messages(started.id).values()} == {"scheduled"}
    assert db.session.scalar(sa.select(sa.func.count(Gesture.id))) == 1
    events = kinds(started.case_id)
    assert [e for e in events if e.startswith("recovery.")] == [
        "recovery.started",
        "recovery.withdrawn",
        "recovery.resumed",
    ]


def test_two_answers_at_once_start_one_recovery(app, client, answered_by_email):
    """Two browsers submit a negative answer at the same moment."""
    results = []
    barrier = threading.Barrier(2)
    pages = []
    for _ in range(2):
        browser = app.test_client()
        with app.app_context():  # a fresh `g`: each browser gets its own CSRF token
            page = browser.get(f"/s/{answered_by_email}").get_data(as_text=True)
        pages.append((browser, csrf_token_in(page)))

    def submit(browser, token):
        with app.app_context():
            barrier.wait()
            form = {"csrf_token": token, "score": "1", "comment": "bad"}
            results.append(browser.post(f"/s/{answered_by_email}", data=form).status_code)
            db.session.remove()

    threads = [threading.Thread(target=submit, args=page) for page in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [303, 303]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Recovery.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Alert.id))) == 1
    apologies = sa.select(sa.func.count(Message.id)).where(Message.recovery_id.is_not(None))
    assert db.session.scalar(apologies) == 3  # apology, check-in, reminder: once each


# Gestures: rules, code pools, budgets


def issued(found: Recovery) -> tuple[str, str | None] | None:
    db.session.expire_all()
    gesture = db.session.scalar(sa.select(Gesture).where(Gesture.recovery_id == found.id))
    return None if gesture is None else (gesture.gesture_type.key, gesture.code)


def test_codes_are_issued_once_each_and_the_pool_alerts_low_then_empty(app, negative_answer):
    discount = gesture_type("discount-10")
    discount.low_codes = 1
    add_codes(discount, ["A-1", "A-2", "A-3"], utcnow())
    db.session.commit()
    given = [issued(negative_answer()) for _ in range(4)]
    assert given[:3] == [("discount-10", "A-1"), ("discount-10", "A-2"), ("discount-10", "A-3")]
    assert given[3] == ("handwritten-note", None)  # the next rule, when the pool is dry
    alerts = db.session.scalars(
        sa.select(Alert.kind).where(Alert.kind.like("pool.%")).order_by(Alert.id)
    ).all()
    assert alerts == ["pool.low", "pool.empty"]
    # Re-uploading used codes never gives them again.
    assert add_codes(discount, ["A-1", "B-1"], utcnow()) == {"added": 1, "skipped": 1, "unused": 1}


def test_the_monthly_budget_is_never_exceeded(app, negative_answer):
    discount = gesture_type("discount-10")
    discount.monthly_budget_cents = 2 * discount.cost_cents
    add_codes(discount, [f"C-{n}" for n in range(5)], utcnow())
    db.session.commit()
    given = [issued(negative_answer())[0] for _ in range(3)]
    assert given == ["discount-10", "discount-10", "handwritten-note"]
    budget_alerts = sa.select(sa.func.count(Alert.id)).where(Alert.kind == "budget.reached")
    negative_answer()
    assert db.session.scalar(budget_alerts) == 1  # once a month, not once a recovery


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"priority": "urgent"}, "call-back"),
        ({"tags": ["Gold"]}, "call-back"),
        ({"make_right": "Please phone me"}, "call-back"),
        ({"reasons": ["not_solved"]}, "call-back"),
        ({"comment": "I want a refund"}, "handwritten-note"),  # no credit webhook set up
        ({"reasons": ["slow"]}, "handwritten-note"),  # no discount codes uploaded
    ],
)
def test_rules_choose_the_gesture_in_order(app, negative_answer, fields, expected):
    found = negative_answer(**fields)
    assert issued(found)[0] == expected
    task = db.session.scalar(sa.select(RecoveryTask).where(RecoveryTask.recovery_id == found.id))
    assert task.assignee == "sam@example.com"


def test_a_credit_is_posted_to_the_business_once(app, negative_answer):
    app.config["EVENTS_WEBHOOK_SECRET"] = "whsec_" + "A" * 32
    gesture_type("account-credit").webhook_url = "http://billing.test/credits"
    db.session.commit()
    found = negative_answer(comment="I want my money back")
    assert issued(found) == ("account-credit", None)
    call = db.session.scalar(sa.select(OutboundCall).where(OutboundCall.kind == "credit"))
    assert call.payload["credit"]["amount_cents"] == 1000
    assert call.payload["url"] == "http://billing.test/credits"
    assert db.session.scalar(sa.select(Gesture.status)) == "requested"


def test_a_comment_keyword_makes_any_score_negative(app, negative_answer):
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    survey.negative_keywords = ["cancel my account"]
    db.session.commit()
    assert negative_answer(score=5, comment="Great, but I will CANCEL my account.") is not None
    assert negative_answer(score=5, comment="Please don't cancel anything") is None
    assert negative_answer(score=3) is None  # neutral


# The API: queue, tasks, codes, alerts


def test_the_queue_puts_overdue_tasks_first_and_completing_one_records_its_outcome(
    app, client, seeded, negative_answer
):
    first = negative_answer(make_right="call me")
    second = negative_answer(priority="urgent")
    db.session.execute(
        sa.update(RecoveryTask)
        .where(RecoveryTask.recovery_id == second.id)
        .values(due_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    queue = client.get("/api/v1/recoveries", headers=seeded["auth"]).get_json()["recoveries"]
    assert [entry["id"] for entry in queue] == [second.id, first.id]
    first_only = client.get("/api/v1/recoveries?limit=1", headers=seeded["auth"]).get_json()
    assert [entry["id"] for entry in first_only["recoveries"]] == [second.id]
    task = queue[0]["tasks"][0]
    assert task["overdue"] and -3700 < task["seconds_left"] < -3500
    assert queue[1]["feedback"]["make_right"] == "call me"

    url = f"/api/v1/tasks/{task['id']}/complete"
    body = {"outcome": "Called, refunded shipping", "completed_by": "lee@example.com"}
    done = client.post(url, json=body, headers=seeded["auth"])
    assert done.status_code == 200 and done.get_json()["outcome"] == body["outcome"]
    assert client.post(url, json=body, headers=seeded["auth"]).status_code == 409
    assert client.post(url, json={"outcome": " "}, headers=seeded["auth"]).status_code == 422
    assert (
        client.post("/api/v1/tasks/999/complete", json=body, headers=seeded["auth"]).status_code
        == 404
    )
    assert "task.completed" in kinds(second.case_id)
    bad = client.get("/api/v1/recoveries?status=lost", headers=seeded["auth"])
    assert bad.status_code == 422


def test_codes_upload_as_csv(app, client, seeded):
    url = "/api/v1/goodwill/discount-10/codes"
    auth = {**seeded["auth"], "Content-Type": "text/csv"}
    good = client.post(url, data="code\nX-1\nX-2\n\nX-1\n", headers=auth)
    assert good.status_code == 200 and good.get_json() == {"added": 2, "skipped": 0, "unused": 2}
    assert client.post(url, data="X-2\nX-3", headers=auth).get_json()["added"] == 1
    assert client.post(url, data="\n\n", headers=auth).status_code == 422
    assert client.post(url, data=b"\xff\xfe", headers=auth).status_code == 400
    assert client.post(url, data="A\x01B", headers=auth).status_code == 422
    assert client.post(url, data="Z" * 101, headers=auth).status_code == 422
    assert client.post("/api/v1/goodwill/nope/codes", data="X", headers=auth).status_code == 404
    wrong_kind = client.post("/api/v1/goodwill/call-back/codes", data="X", headers=auth)
    assert wrong_kind.status_code == 422
    catalogue = client.get("/api/v1/goodwill", headers=seeded["auth"]).get_json()["gestures"]
    assert {g["key"]: g["unused_codes"] for g in catalogue}["discount-10"] == 3
    # A pool of 20,000 codes is larger than other requests may be; 5 MB is the limit.
    big = "\n".join(f"BIG-{n:08d}" for n in range(20_000))
    assert client.post(url, data=big, headers=auth).get_json()["added"] == 20_000
    huge = client.post(url, data="Z" * (6 * 1024 * 1024), headers=auth)
    assert huge.status_code == 413 and huge.is_json


def test_alerts_list_and_acknowledge(app, client, seeded, negative_answer):
    negative_answer()
    listed = client.get("/api/v1/alerts?audience=lead&open=true", headers=seeded["auth"])
    (alert,) = listed.get_json()["alerts"]
    assert alert["case"] == "R-1" and alert["acknowledged_at"] is None
    seen = client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=seeded["auth"])
    assert seen.status_code == 200 and seen.get_json()["acknowledged_at"]
    still_open = client.get("/api/v1/alerts?open=true", headers=seeded["auth"]).get_json()
    assert still_open["alerts"] == []
    assert client.post("/api/v1/alerts/x/acknowledge", headers=seeded["auth"]).status_code == 404
    assert client.get("/api/v1/alerts?audience=x", headers=seeded["auth"]).status_code == 422
