"""The recovery loop on the real stack: worker and sweep processes, the real SDKs and
connectors against the emulator (SendGrid, Zendesk, an events endpoint). Customers answer
negatively (twice each, as people do), then positively, negatively or not at all; Zendesk
fails at first. Every case ends recovered or escalated, with at most one gesture each,
each escalated ticket reopened once with its note, and every event signed and sent once."""

import base64
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from followup.extensions import db
from followup.goodwill import add_codes
from followup.models import (
    Cadence,
    CaseEvent,
    Gesture,
    GestureType,
    OutboundCall,
    Recovery,
)
from followup.models.base import utcnow
from followup.setup import add_cadence
from tests.support.console import csrf_token_in
from tests.support.waiting import wait_until

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
CASES = 9  # three each: recovered, escalated by a negative check-in, escalated by silence


@pytest.fixture
def stack_env(emulator):
    return {
        "EVENTS_WEBHOOK_URL": f"{emulator.url}/hooks/events",
        "EVENTS_WEBHOOK_SECRET": SECRET,
        "HELPDESK": "zendesk",
        "ZENDESK_BASE_URL": emulator.url,
        "ZENDESK_EMAIL": emulator.zendesk_email,
        "ZENDESK_API_TOKEN": emulator.zendesk_api_token,
        "FOLLOWUP_RECOVERY_WAIT_DAYS": "0",
        "FOLLOWUP_HELPDESK_WRITE_BACK": "0",  # test_write_back_stack has the write-back
    }


@pytest.fixture
def fast_loop(app, seeded, stack_env):
    """A check-in right at close, and a recovery in seconds: apology now, check-in after
    2 s, reminder after 15 s (with no wait after it, a recovery escalates once its reminder
    is out: the test must answer before then even on a loaded machine). The answers come
    through this process's app: it gets the stack's settings too."""
    app.config.update(
        {name.removeprefix("FOLLOWUP_"): value for name, value in stack_env.items()},
        RECOVERY_WAIT_DAYS=0,
        HELPDESK_WRITE_BACK=False,
    )
    db.session.execute(sa.update(Cadence).values(is_default=False))
    add_cadence(
        "Fast",
        "close",
        [("check-in", 0, "email", "csat_checkin", "csat", "always")],
        is_default=True,
    )
    add_cadence("Fast recovery", "recovery", [
        ("apology", 0, "answered", "apology", None, "always"),
        ("recovery check-in", 2, "answered", "recovery_checkin", "recovery", "always"),
        ("recovery reminder", 15, "answered", "recovery_reminder", "recovery", "no_answer"),
    ], is_default=True)  # fmt: skip
    discount = db.session.scalar(sa.select(GestureType).where(GestureType.key == "discount-10"))
    add_codes(discount, ["SORRY-1", "SORRY-2", "SORRY-3", "SORRY-4"], utcnow())
    db.session.commit()
    return seeded


def survey_links(emulator, subject: str) -> dict[str, str]:
    """The survey token of each email with this subject, by recipient."""
    links = {}
    for email in emulator.requests("sendgrid"):  # one record per recipient
        if email["status"] == 202 and email["subject"] == subject:
            token = re.search(r"/s/([A-Za-z0-9_-]{20,})", email["text"]).group(1)
            links[email["recipient"]] = token
    return links


def answer(client, token: str, score: int, comment: str = "") -> None:
    page = client.get(f"/s/{token}").get_data(as_text=True)
    form = {"csrf_token": csrf_token_in(page), "score": str(score), "comment": comment}
    assert client.post(f"/s/{token}", data=form).status_code == 303


def outcomes() -> dict[str, str]:
    db.session.rollback()
    rows = db.session.execute(sa.select(Recovery.customer_id, Recovery.status)).all()
    return dict(rows)


def test_every_case_ends_recovered_or_escalated_and_nothing_happens_twice(
    client, fast_loop, emulator, stack
):
    auth = fast_loop["auth"]
    for n in range(CASES):
        emulator.add_ticket("zendesk", str(5000 + n), status="solved", requester_id=100 + n,
                            subject=f"Case {n}")  # fmt: skip
        body = {"external_id": f"ZD-{n}", "ticket_id": str(5000 + n), "subject": f"Case {n}",
                "agent": {"name": "Sam Rivera"},
                "customer": {"name": f"Customer {n}", "email": f"c{n}@example.com"}}  # fmt: skip
        assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
        assert client.post(f"/api/v1/cases/ZD-{n}/close", headers=auth).status_code == 202
    emulator.set_faults(providers=["zendesk"], status=503, rate=1.0, times=3)
    stack.start("worker")
    stack.start("worker")
    stack.start("sweep")

    subject = 'How did we do with "Case {}"?'
    wait_until(lambda: len(survey_links(emulator, subject.format(0))) == 1, 180, "check-ins")
    wait_until(
        lambda: sum(len(survey_links(emulator, subject.format(n))) for n in range(CASES)) == CASES,
        180,
        "every check-in",
    )
    for n in range(CASES):
        token = survey_links(emulator, subject.format(n))[f"c{n}@example.com"]
        answer(client, token, 1, "Nobody told me anything")
        answer(client, token, 1, "Nobody told me anything, twice")  # a changed comment

    wait_until(
        lambda: len(survey_links(emulator, "Did we make it right?")) == CASES, 180, "re-checks"
    )
    recheck = survey_links(emulator, "Did we make it right?")
    for n in range(CASES):
        if n % 3 == 0:
            answer(client, recheck[f"c{n}@example.com"], 5)
        elif n % 3 == 1:
            answer(client, recheck[f"c{n}@example.com"], 2, "Still no parcel")

    def ended() -> bool:
        found = outcomes()
        return len(found) == CASES and set(found.values()) <= {"recovered", "escalated"}

    wait_until(ended, 180, "every recovery to end")

    def calls_settled() -> bool:
        db.session.rollback()
        return not db.session.scalar(
            sa.select(sa.func.count(OutboundCall.id)).where(OutboundCall.status == "pending")
        )

    wait_until(calls_settled, 180, "every outbound call")

    statuses = Counter(outcomes().values())
    assert statuses == {"recovered": 3, "escalated": 6}
    gestures = Counter(db.session.scalars(sa.select(Gesture.recovery_id)))
    assert set(gestures.values()) == {1} and len(gestures) == CASES
    codes = sorted(filter(None, db.session.scalars(sa.select(Gesture.code))))
    assert codes == ["SORRY-1", "SORRY-2", "SORRY-3", "SORRY-4"]
    assert db.session.scalar(
        sa.select(sa.func.count(OutboundCall.id)).where(OutboundCall.status != "done")
    ) == 0  # fmt: skip

    for n in range(CASES):
        ticket = emulator.ticket("zendesk", str(5000 + n))
        private = [c for c in ticket["comments"] if not c["public"]]
        if n % 3 == 0:
            assert ticket["status"] == "solved" and private == []
        else:
            assert ticket["status"] == "open" and len(private) == 1
            assert "Feedback stayed negative" in private[0]["body"]
            assert "Nobody told me anything, twice" in private[0]["body"]

    events = emulator.requests("webhook")
    ids = [request["headers"]["Webhook-Id"] for request in events]
    assert len(ids) == len(set(ids))  # each event once
    kinds = Counter()
    for request in events:
        kinds[Webhook(SECRET).verify(request["raw"], request["headers"])["type"]] += 1
    assert kinds == {
        "response.created": CASES + 6,
        "recovery.started": CASES,
        "gesture.issued": CASES,
        "recovery.succeeded": 3,
        "recovery.failed": 6,
        "case.reopened": 6,
    }
    done = Counter(db.session.scalars(sa.select(CaseEvent.kind).where(CaseEvent.kind.in_(
        ("helpdesk.done", "recovery.escalated", "recovery.succeeded")))))  # fmt: skip
    assert done == {"helpdesk.done": 6, "recovery.escalated": 6, "recovery.succeeded": 3}
