"""Cases closed through the API, their due messages swept and dispatched, and what the dev
outbox received: the case bodies the tests share, `close`, `sweep_and_dispatch`,
`sent_messages`, and a case answered end to end."""

import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from followup import outbox
from followup.answers import record_answer
from followup.extensions import db
from followup.models import Case, SurveyInvitation
from followup.models.base import utcnow

CASE = {
    "external_id": "O-1",
    "subject": "Broken <b>kettle</b>",
    "agent": {"name": "Sam Rivera"},
    "customer": {"name": "Ana Lima", "email": "ana@example.com", "phone": "+14155550123"},
}


def close(client, auth, body=CASE, cadence=None):
    """Create the case and close it through the API (on a cadence, when named)."""
    client.post("/api/v1/cases", json=body, headers=auth)
    json_body = {"cadence": cadence} if cadence else None
    return client.post(f"/api/v1/cases/{body['external_id']}/close", headers=auth, json=json_body)


def sweep_and_dispatch(at=None) -> list[dict]:
    """Sweep the messages due at `at` (now) into batches and dispatch each batch."""
    batches = []
    outbox.sweep(lambda channel, token: batches.append(token), queued_batches=0, now=at)
    return [outbox.dispatch(token) for token in batches]


def sent_messages(app) -> list[dict]:
    """What the dev channel sent, oldest first."""
    path = Path(app.config["DEV_OUTBOX_PATH"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


API_CASE = {  # every field the API takes
    "external_id": "T-100",
    "subject": "Parcel never arrived",
    "agent": {"name": "Sam Rivera", "email": "sam@acme.com"},
    "team": "Shipping",
    "priority": "high",
    "tags": ["shipping", "refund"],
    "customer": {
        "external_id": "cust-1",
        "name": "Ana Lima",
        "email": "Ana@Example.com",
        "phone": "+1 (415) 555-0123",
        "locale": "en",
        "timezone": "America/New_York",
    },
}


EMAIL_CASE = {**CASE, "customer": {"name": "Ana Lima", "email": "ana@example.com"}}


def later(**delta) -> object:
    """Now plus a timedelta's keywords."""
    return utcnow() + timedelta(**delta)


def close_tagged(client, auth, external_id, tags=(), **customer):
    """A new case with these tags (and customer fields) closed through the API: the plan."""
    customer = {"name": "Ana Lima", "email": f"{external_id.lower()}@example.com",
                "phone": "+14155550123", **customer}  # fmt: skip
    body = {"external_id": external_id, "subject": "Double charge", "tags": list(tags),
            "customer": customer}  # fmt: skip
    assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
    response = client.post(f"/api/v1/cases/{external_id}/close", headers=auth)
    assert response.status_code == 202, response.json
    return response.json


def deliver_due_messages(at):
    """Sweep and dispatch what is due at `at` (for pages served to a browser)."""
    tokens = []
    outbox.sweep(lambda channel, token: tokens.append(token), queued_batches=0, now=at)
    for token in tokens:
        outbox.dispatch(token)


HOSTILE = '<script>alert(1)</script> =HYPERLINK("http://x") never came'


def answered_case(client, auth, comment: str = HOSTILE, score: int = 1, team=None) -> Case:
    """Case O-1 (of a team) closed through the API, its survey sent (dev channel) and
    answered with the reason "slow"."""
    assert close(client, auth, {**CASE, "team": team}).status_code == 202
    sweep_and_dispatch()
    sweep_and_dispatch(at=utcnow() + timedelta(hours=24, minutes=1))
    invitation = db.session.scalar(sa.select(SurveyInvitation))
    record_answer(invitation, score=score, comment=comment, reason_codes=["slow"],
                    answers={"make_right": "<i>call</i> me"}, channel="web",
                    now=utcnow())  # fmt: skip
    db.session.commit()
    return db.session.scalar(sa.select(Case).where(Case.external_id == "O-1"))
