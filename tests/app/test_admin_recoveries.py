"""The recovery queue page: what each customer said and what was done, tasks with the time
left (overdue first and marked), completing a task (once), acknowledging the leads' alerts,
the status filter, and managers reading without acting."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import recovery
from followup.extensions import db
from followup.models import Alert, RecoveryTask
from followup.models.base import utcnow
from tests.support.console import csrf_token

HOSTILE = "<script>alert(1)</script> nobody called"


@pytest.fixture
def queue(negative_answer):
    """Two open recoveries with a call-back each; the second's task is an hour overdue."""
    first = negative_answer(comment=HOSTILE, reasons=["slow"], make_right="call me")
    second = negative_answer(priority="urgent")
    db.session.execute(
        sa.update(RecoveryTask)
        .where(RecoveryTask.recovery_id == second.id)
        .values(due_at=utcnow() - timedelta(hours=1, minutes=5))
    )
    db.session.commit()
    return first, second


def task_of(recovery_id: int) -> RecoveryTask:
    db.session.expire_all()
    return db.session.scalar(sa.select(RecoveryTask).where(RecoveryTask.recovery_id == recovery_id))


def complete(client, task_id: int, outcome: str, **extra):
    data = {"csrf_token": csrf_token(client, "/admin/recoveries"), "outcome": outcome, **extra}
    return client.post(f"/admin/recoveries/tasks/{task_id}/complete", data=data)


def test_the_queue_shows_what_was_said_and_done_overdue_first(as_lead, queue):
    first, second = queue
    response = as_lead.get("/admin/recoveries")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.index("Case R-2") < page.index("Case R-1")  # the overdue task first
    assert "Customer 1" in page and "Score 1/5" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; nobody called" in page
    assert "<script>alert" not in page
    assert "It took too long" in page and "Would make it right: “call me”" in page
    assert "Call-back from a team lead" in page
    assert re.search(r'class="badge warn">overdue by 1 h [5-6] min<', page)
    assert re.search(r'class="badge">2[23] h \d+ min left<', page)
    assert f'id="outcome-{task_of(first.id).id}"' in page


def test_completing_a_task_records_who_and_the_outcome_once(as_lead, queue):
    task = task_of(queue[1].id)
    response = complete(as_lead, task.id, "Called, <b>resent</b> the parcel")
    assert response.status_code == 303 and response.location.endswith("/admin/recoveries")
    done = task_of(queue[1].id)
    assert (done.completed_by, done.outcome) == (
        "lead@example.com",
        "Called, <b>resent</b> the parcel",
    )
    page = as_lead.get("/admin/recoveries").get_data(as_text=True)
    assert "Completed “Call-back" in page and "Called, &lt;b&gt;resent&lt;/b&gt; the parcel" in page
    assert f'id="outcome-{task.id}"' not in page  # no form for a done task

    again = complete(as_lead, task.id, "Called twice")
    assert again.status_code == 409
    assert "completed already by lead@example.com" in again.get_data(as_text=True)
    assert task_of(queue[1].id).outcome == "Called, <b>resent</b> the parcel"


@pytest.mark.parametrize(
    ("outcome", "message"),
    [("", "Say what was done"), ("   \x00 ", "Say what was done"),
     ("x" * 2001, "Keep it to 2000 characters or fewer")],
)  # fmt: skip
def test_a_bad_outcome_is_refused_with_the_field_named(as_lead, queue, outcome, message):
    task = task_of(queue[0].id)
    response = complete(as_lead, task.id, outcome)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'href="#outcome-{task.id}"' in page and message in page
    assert task_of(queue[0].id).completed_at is None


def test_forged_csrf_unknown_tasks_and_managers_are_refused(app, client, as_lead, queue):
    task = task_of(queue[0].id)
    url = f"/admin/recoveries/tasks/{task.id}/complete"
    assert as_lead.post(url, data={"outcome": "Done", "csrf_token": "forged"}).status_code == 400
    assert as_lead.post(url, data={"outcome": "Done"}).status_code == 400
    for unknown in ("999", "99999999999999999999"):
        assert complete(as_lead, unknown, "Done").status_code == 404
    assert task_of(queue[0].id).completed_at is None


def test_a_manager_reads_the_queue_without_forms(as_manager, queue):
    response = as_manager.get("/admin/recoveries")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Case R-1" in page and "Complete the task" not in page and "Acknowledge" not in page
    task = task_of(queue[0].id)
    assert complete(as_manager, task.id, "Done").status_code == 403
    alert = db.session.scalar(sa.select(Alert))
    token = csrf_token(as_manager, "/admin/")
    url = f"/admin/recoveries/alerts/{alert.id}/acknowledge"
    assert as_manager.post(url, data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert task_of(queue[0].id).completed_at is None and alert.acknowledged_at is None


def test_acknowledging_an_alert_takes_it_off_the_page(as_lead, queue):
    alerts = db.session.scalars(sa.select(Alert).order_by(Alert.id)).all()
    assert [a.audience for a in alerts] == ["lead", "lead"]
    page = as_lead.get("/admin/recoveries").get_data(as_text=True)
    assert "Open alerts (2)" in page and "<h3>Negative feedback on R-1" in page
    assert "&lt;script&gt;alert(1)" in page  # the alert's detail quotes the comment, escaped
    url = f"/admin/recoveries/alerts/{alerts[0].id}/acknowledge"
    token = csrf_token(as_lead, "/admin/recoveries")
    assert as_lead.post(url, data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Alert, alerts[0].id).acknowledged_at is not None
    page = as_lead.get("/admin/recoveries").get_data(as_text=True)
    assert "Open alerts (1)" in page and "<h3>Negative feedback on R-1" not in page
    again = as_lead.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "That alert was seen already" in again.get_data(as_text=True)
    assert (
        as_lead.post(
            "/admin/recoveries/alerts/999/acknowledge", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert as_lead.post(url, data={"csrf_token": "forged"}).status_code == 400


def test_the_status_filter_is_in_the_url(as_lead, queue):
    first, second = queue
    recovery.escalate(db.session.get(type(first), first.id), "no answer", utcnow())
    db.session.commit()
    open_page = as_lead.get("/admin/recoveries").get_data(as_text=True)
    assert "Case R-2" in open_page and "Case R-1" not in open_page
    escalated = as_lead.get("/admin/recoveries?status=escalated").get_data(as_text=True)
    assert "Case R-1" in escalated and "Case R-2" not in escalated
    assert "Escalated" in escalated and "no answer" in escalated
    every = as_lead.get("/admin/recoveries?status=all").get_data(as_text=True)
    assert "Case R-1" in every and "Case R-2" in every
    none = as_lead.get("/admin/recoveries?status=recovered").get_data(as_text=True)
    assert "No recovered recoveries" in none
    bogus = as_lead.get("/admin/recoveries?status=<script>").get_data(as_text=True)
    assert "Case R-2" in bogus and "<script>" not in bogus  # the default: open
    # A form posted from a filtered page comes back to it.
    task = task_of(second.id)
    data = {"csrf_token": csrf_token(as_lead, "/admin/recoveries"), "outcome": "Called"}
    done = as_lead.post(f"/admin/recoveries/tasks/{task.id}/complete?status=all", data=data)
    assert done.location.endswith("/admin/recoveries?status=all")
