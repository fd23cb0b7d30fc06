"""Helpdesk write-back against the emulated Zendesk, Freshdesk and webhook endpoints: what an
answer and a changed answer put on the ticket (private note, tags, score field), a note that
is written once when the helpdesk applied it but its answer was lost (also for reopens, and
past the first page of comments), a closed Zendesk ticket, and which answers are planned."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from followup import outbound
from followup.answers import record_answer
from followup.connectors import connector_for
from followup.connectors.base import CallError, Ticket
from followup.connectors.notes import marker, note_for
from followup.extensions import db
from followup.models import Alert, Case, CaseEvent, OutboundCall, SurveyInvitation
from followup.models.base import utcnow

SECRET = "whsec_" + "W" * 32
URL = "http://followup.test/dashboard/cases/ZD-1"
LOST = [{"drop": False}, {"drop": True}]  # a 500 after applying, or no answer at all


def payload(score=2, band="negative", comment="Nobody called", changed=False, **more) -> dict:
    return {"type": "answer", "response_id": 1, "round": 1, "survey_kind": "csat",
            "score": score, "scale_min": 1, "scale_max": 5, "band": band, "comment": comment,
            "reasons": ["It took too long"], "make_right": "", "channel": "web",
            "recovery_check_in": False, "changed": changed, "case_url": URL, **more}  # fmt: skip


def ticket(number="123") -> Ticket:
    return Ticket("ZD-1", number, "Parcel", "Ana Lima", "ana@example.com", None)


def connector(helpdesk: str, emu, **settings):
    return connector_for({
        "HELPDESK": helpdesk, "SEND_TIMEOUT": 5, "ALLOW_PRIVATE_TARGETS": True,
        "HELPDESK_WEBHOOK_URL": f"{emu.url}/hooks/helpdesk", "HELPDESK_WEBHOOK_SECRET": SECRET,
        "ZENDESK_BASE_URL": emu.url, "ZENDESK_EMAIL": emu.zendesk_email,
        "ZENDESK_API_TOKEN": emu.zendesk_api_token, "FRESHDESK_BASE_URL": emu.url,
        "FRESHDESK_API_KEY": emu.freshdesk_api_key, **settings,
    })  # fmt: skip


def write(helpdesk, emu, key, body=None, number="123", **settings) -> dict:
    note = note_for(body or payload(), key, latest=True)
    return connector(helpdesk, emu, **settings).write_back(ticket(number), note, key, utcnow())


def test_zendesk_gets_a_private_comment_tags_and_the_score_field(emulator):
    emulator.add_ticket("zendesk", "123", status="solved")
    first = write("zendesk", emulator, "k1", ZENDESK_SCORE_FIELD_ID=360001)
    changed = payload(score=4, band="positive", comment="Sorted now", changed=True)
    write("zendesk", emulator, "k2", changed, ZENDESK_SCORE_FIELD_ID=360001)

    assert first == {"helpdesk": "zendesk", "ticket_id": "123", "action": "written"}
    found = emulator.ticket("zendesk", "123")
    assert found["status"] == "solved"
    assert [c["public"] for c in found["comments"]] == [False, False]
    assert found["comments"][0]["body"] == (
        "Customer feedback: 2/5, negative (web)\nReasons: It took too long\n"
        f"Comment: “Nobody called”\nCase timeline: {URL}\n\n{marker('k1')}"
    )
    assert found["comments"][1]["body"].startswith("Customer feedback (changed): 4/5, positive")
    assert found["tags"] == ["followup_csat_4"]  # the 2 and followup_negative removed
    assert found["custom_fields"] == [{"id": 360001, "value": 4}]


def test_an_older_answer_written_late_leaves_the_tags_and_field_alone(emulator):
    emulator.add_ticket("zendesk", "123", status="solved")
    write("zendesk", emulator, "new", payload(score=5, band="positive"), ZENDESK_SCORE_FIELD_ID=9)
    stale = note_for(payload(), "old", latest=False)
    connector("zendesk", emulator, ZENDESK_SCORE_FIELD_ID=9).write_back(
        ticket(), stale, "old", utcnow()
    )
    found = emulator.ticket("zendesk", "123")
    assert len(found["comments"]) == 2 and found["tags"] == ["followup_csat_5"]
    assert found["custom_fields"] == [{"id": 9, "value": 5}]


@pytest.mark.parametrize("lost", LOST)
def test_zendesk_writes_once_when_the_answer_was_lost(emulator, lost):
    emulator.add_ticket("zendesk", "123", status="open", comments=[f"c{n}" for n in range(250)])
    emulator.set_faults(providers=["zendesk"], methods=["PUT"], applied=True, rate=1, times=1,
                        status=500, **lost)  # fmt: skip
    with pytest.raises(CallError) as refused:
        write("zendesk", emulator, "k1")
    assert refused.value.transient

    again = write("zendesk", emulator, "k1")  # the retry finds the marker on the third page

    assert again["action"] == "already written"
    comments = emulator.ticket("zendesk", "123")["comments"]
    assert len(comments) == 251 and comments[-1]["body"].endswith(marker("k1"))
    pages = [r["path"] for r in emulator.requests("zendesk") if "comments" in r["path"]]
    assert len(pages) == 6 and "page%5Bafter%5D=" in pages[-1]


def test_a_closed_zendesk_ticket_is_skipped(emulator):
    emulator.add_ticket("zendesk", "123", status="closed")
    assert write("zendesk", emulator, "k1")["action"] == "skipped: ticket closed"
    assert emulator.ticket("zendesk", "123")["comments"] == []
    assert [r["method"] for r in emulator.requests("zendesk")] == ["GET"]


@pytest.mark.parametrize("lost", LOST)
def test_freshdesk_gets_the_score_field_and_one_private_note(emulator, lost):
    emulator.add_ticket("freshdesk", "55", status=4, comments=[f"n{n}" for n in range(150)])
    emulator.set_faults(providers=["freshdesk"], methods=["POST"], applied=True, rate=1,
                        times=1, status=502, **lost)  # fmt: skip
    with pytest.raises(CallError):
        write("freshdesk", emulator, "k1", number="55", FRESHDESK_SCORE_FIELD="cf_csat")
    again = write("freshdesk", emulator, "k1", number="55", FRESHDESK_SCORE_FIELD="cf_csat")

    assert again == {"helpdesk": "freshdesk", "ticket_id": "55", "action": "already written"}
    found = emulator.ticket("freshdesk", "55")
    assert found["custom_fields"] == {"cf_csat": 2} and found["status"] == 4
    [note] = [n for n in found["notes"] if n["private"]]
    assert note["body"].startswith("Customer feedback: 2/5, negative (web)<br>")
    assert note["body"].endswith(f"<br><br>{marker('k1')}")


@pytest.mark.parametrize("helpdesk", ["zendesk", "freshdesk"])
def test_a_reopen_retried_after_a_lost_answer_adds_one_note(emulator, helpdesk):
    emulator.add_ticket(helpdesk, "123", status="solved" if helpdesk == "zendesk" else 4)
    write_method = "PUT" if helpdesk == "zendesk" else "POST"
    emulator.set_faults(providers=[helpdesk], methods=[write_method], applied=True, rate=1,
                        times=1)  # fmt: skip
    reopen = connector(helpdesk, emulator).reopen
    with pytest.raises(CallError):
        reopen(ticket(), "Still negative", "helpdesk:reopen:1", utcnow())
    assert reopen(ticket(), "Still negative", "helpdesk:reopen:1", utcnow())["action"] == "reopened"
    found = emulator.ticket(helpdesk, "123")
    assert len(found.get("comments", found.get("notes"))) == 1


def test_the_generic_connector_posts_a_signed_note_event(emulator):
    result = write("generic", emulator, "helpdesk_note:answer:1:1")
    assert result == {"helpdesk": "generic", "ticket_id": "123", "action": "sent"}
    [hook] = emulator.requests("webhook")
    assert hook["headers"]["Webhook-Id"] == "helpdesk_note:answer:1:1"
    event = Webhook(SECRET).verify(hook["raw"], hook["headers"])
    assert event["type"] == "case.note" and event["data"] == payload()
    assert event["case"] == {"external_id": "ZD-1", "ticket_id": "123", "subject": "Parcel"}


# -- planned from answers ---------------------------------------------------------------------


def run_calls() -> dict:
    token = outbound.claim_calls(utcnow(), 50, 60)
    db.session.commit()
    return outbound.run_calls(token) if token else {}


def answer(survey_case, score: int, comment: str = "") -> None:
    invitation = db.session.get_one(SurveyInvitation, survey_case["invitation_id"])
    record_answer(invitation, score=score, comment=comment, channel="web", now=utcnow())
    db.session.commit()


@pytest.fixture
def zendesk(app, emulator):
    app.config.update(HELPDESK="zendesk", ZENDESK_BASE_URL=emulator.url,
                      ZENDESK_EMAIL=emulator.zendesk_email,
                      ZENDESK_API_TOKEN=emulator.zendesk_api_token)  # fmt: skip
    emulator.add_ticket("zendesk", "777", status="solved")
    return emulator


def with_ticket(survey_case, number: str | None = "777") -> None:
    db.session.get_one(Case, survey_case["case_id"]).ticket_id = number
    db.session.commit()


def test_answers_and_changes_are_written_once_each(zendesk, survey_case):
    with_ticket(survey_case)
    answer(survey_case, 2, "Slow")
    answer(survey_case, 2, "Slow")  # the same again: nothing new
    answer(survey_case, 5, "Sorted")
    assert run_calls() == {"done": 3, "retry": 0, "failed": 0, "held": 0}
    found = zendesk.ticket("zendesk", "777")
    first_lines = [c["body"].splitlines()[0] for c in found["comments"]]
    assert first_lines[0] == "Customer feedback: 2/5, negative (web)"
    assert first_lines[1].startswith("Goodwill gesture: ")  # the recovery the 2 started
    assert first_lines[2] == "Customer feedback (changed): 5/5, positive (web)"
    assert "/dashboard/cases/CASE-1" in found["comments"][0]["body"]
    assert found["tags"] == ["followup_csat_5"]
    events = db.session.scalars(sa.select(CaseEvent.detail).where(
        CaseEvent.kind == "helpdesk_note.done")).all()  # fmt: skip
    assert events == [{"helpdesk": "zendesk", "ticket_id": "777", "action": "written"}] * 3


def test_only_cases_with_a_ticket_and_only_when_on(app, zendesk, survey_case):
    with_ticket(survey_case, None)
    answer(survey_case, 2)
    app.config.update(HELPDESK_WRITE_BACK=False)
    with_ticket(survey_case)
    answer(survey_case, 3)
    assert db.session.scalar(sa.select(sa.func.count(OutboundCall.id))) == 0

    app.config.update(HELPDESK="generic", HELPDESK_WRITE_BACK=True,
                      HELPDESK_WEBHOOK_URL=f"{zendesk.url}/hooks/helpdesk",
                      HELPDESK_WEBHOOK_SECRET=SECRET)  # fmt: skip
    with_ticket(survey_case, None)  # the generic connector gets every case
    answer(survey_case, 4)
    assert run_calls()["done"] == 1
    [hook] = zendesk.requests("webhook")
    assert Webhook(SECRET).verify(hook["raw"], hook["headers"])["data"]["score"] == 4


def test_a_write_that_keeps_failing_is_given_up_with_an_alert(app, zendesk, survey_case):
    app.config.update(CALL_MAX_ATTEMPTS=1)
    with_ticket(survey_case, "404")  # no such ticket
    answer(survey_case, 1)
    assert run_calls()["failed"] == 2  # the answer and the gesture it brought
    alerts = db.session.scalars(sa.select(Alert).where(Alert.kind == "helpdesk.failed")).all()
    assert len(alerts) == 2 and all("HTTP 404" in alert.detail for alert in alerts)
    kinds = db.session.scalars(
        sa.select(CaseEvent.kind).where(CaseEvent.kind.like("helpdesk_note%"))
    ).all()
    assert kinds == ["helpdesk_note.failed"] * 2


def test_a_helpdesk_that_says_wait_is_asked_nothing_more_until_then(zendesk, survey_case):
    """A 429 with Retry-After: the call is retried no sooner, and the batch's other calls to
    the helpdesk are given back untried (no attempt spent), due when the wait ends."""
    with_ticket(survey_case)
    answer(survey_case, 2, "Slow")  # the answer and the gesture it brings
    answer(survey_case, 5, "Sorted")
    zendesk.set_faults(providers=["zendesk"], rate=1, status=429, times=1)
    before = utcnow()
    assert run_calls() == {"done": 0, "retry": 1, "failed": 0, "held": 2}
    assert len(zendesk.requests("zendesk")) == 1
    calls = db.session.scalars(sa.select(OutboundCall).order_by(OutboundCall.id)).all()
    assert [(c.attempts, c.status) for c in calls] == [
        (1, "pending"),
        (0, "pending"),
        (0, "pending"),
    ]
    assert all(c.due_at >= before + timedelta(seconds=1) for c in calls)
    assert all(c.claim_token is None for c in calls)
