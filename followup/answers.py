"""Recording an answer and reacting to it: one operation, called by the survey page and by
an SMS reply. The answer is recorded (surveys.responses); when it is new or changed, the
recovery loop reacts: a round's first negative answer starts a recovery, a changed answer
withdraws or resumes it, and an answer to a recovery check-in decides its outcome; the answer
is written on the helpdesk ticket (followup.write_back).
Flushes; the caller commits."""

from datetime import datetime

import sqlalchemy as sa

from followup import kudos, recovery, write_back
from followup.extensions import db
from followup.models import Case, Recovery, Response, Survey, SurveyInvitation
from followup.models.recovery import RecoveryStatus, WebhookEvent
from followup.outbound import emit
from surveys.responses import latest_answer, record_response
from surveys.scoring import verdict


def record_answer(
    invitation: SurveyInvitation,
    *,
    score: int,
    comment: str = "",
    reason_codes: list[str] | None = None,
    answers: dict | None = None,
    channel: str,
    now: datetime,
) -> tuple[Response, bool]:
    """Record the invitation's answer (surveys.responses.record_response: raises ValueError
    for an invalid one) and, when it is new or changed, let the recovery loop react; the
    Response and whether it is new."""
    response, created, changed = record_response(
        invitation,
        score=score,
        comment=comment,
        reason_codes=reason_codes,
        answers=answers,
        channel=channel,
        now=now,
    )
    if changed:
        _react(response, invitation.survey, created, now)
    return response, created


def _react(response: Response, survey: Survey, created: bool, now: datetime) -> None:
    """Re-evaluate after an answer was recorded or changed, and write it on the ticket."""
    write_back.plan_answer(response, survey, created, now)
    if created:
        emit(
            WebhookEvent.RESPONSE_CREATED,
            str(response.id),
            response_event(response, survey),
            response.case_id,
            now,
        )
    if response.recovery_id is not None:
        check_in = db.session.get_one(Recovery, response.recovery_id)
        recovery.on_check_in(check_in, response, survey, now)
    else:
        _on_first_answer(response.case_id, response.round, now)


def response_event(response: Response, survey: Survey) -> dict:
    case = db.session.get_one(Case, response.case_id)
    return {
        "case": case.external_id,
        "round": response.round,
        "survey": survey.key,
        "score": response.score,
        "verdict": verdict(survey, response.score, response.comment),
        "comment": response.comment,
        "reason_codes": response.reason_codes,
        "channel": response.channel,
        "recovery_check_in": response.recovery_id is not None,
    }


def _on_first_answer(case_id: int, round_number: int, now: datetime) -> None:
    """The round's answer to the cadence's survey, new or changed: a negative one starts the
    round's recovery (or resumes the one a change had withdrawn); a non-negative one
    withdraws an open recovery."""
    answer = latest_answer(case_id, round_number)
    assert answer is not None  # at least the answer just recorded
    survey = answer.invitation.survey
    negative = verdict(survey, answer.score, answer.comment) == "negative"
    kudos.on_first_answer(answer, survey, now)
    existing = db.session.scalar(
        sa.select(Recovery).where(Recovery.case_id == case_id, Recovery.round == round_number)
    )
    if existing is None:
        if negative:
            recovery.start(answer, now)
    elif negative and existing.status == RecoveryStatus.WITHDRAWN:
        recovery.resume(existing, now)
    elif not negative and existing.status == RecoveryStatus.OPEN:
        recovery.withdraw(existing, now)
