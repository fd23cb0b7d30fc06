"""Helpdesk write-back: every recorded or changed answer, every recovery outcome (recovered,
a gesture issued, a task completed) and every root cause a lead records or changes, planned
as an outbound call (CallKind.HELPDESK_NOTE) that writes it on the case's ticket
(followup.connectors: a private comment or note, tags, the score field; the generic
connector a signed event).

On when HELPDESK names a connector, unless FOLLOWUP_HELPDESK_WRITE_BACK is off. Zendesk and
Freshdesk get the cases that have a ticket number (`ticket_id`); the generic connector every
case. An escalation is written by the reopen itself (followup.recovery.escalate: its private
note says what the customer said and what was done), not a second time here.

A call's payload is a snapshot (a retried older write says what was true then) and the only
place a write-back keeps personal data (the comment). Its key is one per answer version or
outcome, and one per recorded root cause (its recovery's count of changes): a changed answer
or cause is a new write, a retry of one is not. Flushes nothing; the caller commits."""

from datetime import datetime
from urllib.parse import quote

from flask import current_app

from followup.extensions import db
from followup.models import Case, Response, Survey
from followup.models.recovery import CallKind
from followup.outbound import ANSWER_NOTE, plan_call
from surveys.responses import feedback
from surveys.scoring import verdict


def _ticket_case(case_id: int) -> Case | None:
    """The case when its write-backs go somewhere, else None."""
    config = current_app.config
    if config["HELPDESK"] == "none" or not config["HELPDESK_WRITE_BACK"]:
        return None
    case = db.session.get_one(Case, case_id)
    if config["HELPDESK"] != "generic" and not case.ticket_id:
        return None
    return case


def case_url(case: Case) -> str:
    """The case's page (its timeline) on the dashboard."""
    base = current_app.config["PUBLIC_BASE_URL"]
    return f"{base}/dashboard/cases/{quote(case.external_id, safe='')}"


def plan_answer(response: Response, survey: Survey, created: bool, now: datetime) -> None:
    """Write a recorded or changed answer on the ticket."""
    case = _ticket_case(response.case_id)
    if case is None:
        return
    said = feedback(response, survey)
    payload = {
        "type": "answer",
        "response_id": response.id,
        "round": response.round,
        "survey_kind": survey.kind,
        "score": response.score,
        "scale_min": survey.scale_min,
        "scale_max": survey.scale_max,
        "band": verdict(survey, response.score, response.comment),
        "comment": response.comment,
        "reasons": said["reasons"],
        "make_right": said["make_right"],
        "channel": response.channel,
        "recovery_check_in": response.recovery_id is not None,
        "changed": not created,
        "case_url": case_url(case),
    }
    version = int(now.timestamp() * 1_000_000)  # the answer's updated_at
    plan_call(
        CallKind.HELPDESK_NOTE, f"{ANSWER_NOTE}{response.id}:{version}", payload, case.id, now
    )


def plan_outcome(case_id: int, outcome: str, ref: int, summary: str, now: datetime) -> None:
    """Write a recovery outcome on the ticket once: `outcome` and `ref` (its recovery's or
    task's id) make the key, `summary` is the note's first line."""
    case = _ticket_case(case_id)
    if case is None:
        return
    payload = {
        "type": "outcome",
        "outcome": outcome,
        "summary": summary,
        "case_url": case_url(case),
    }
    plan_call(
        CallKind.HELPDESK_NOTE, f"{CallKind.HELPDESK_NOTE}:{outcome}:{ref}", payload, case.id, now
    )


def plan_root_cause(
    case_id: int,
    recovery_id: int,
    change: int,
    cause: str,
    label: str,
    note: str | None,
    by: str,
    now: datetime,
) -> None:
    """Write a recovery's root cause (its key, `label` its name) with the lead's note on
    the ticket, once per recorded change (`change`: the recovery's count of them)."""
    case = _ticket_case(case_id)
    if case is None:
        return
    payload = {
        "type": "root_cause",
        "recovery_id": recovery_id,
        "root_cause": cause,
        "label": label,
        "comment": note,  # the lead's note ("comment": erasure blanks it)
        "by": by,
        "changed": change > 1,
        "case_url": case_url(case),
    }
    key = f"{CallKind.HELPDESK_NOTE}:root_cause:{recovery_id}:{change}"
    plan_call(CallKind.HELPDESK_NOTE, key, payload, case.id, now)
