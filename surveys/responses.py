"""Survey answers as rows: recording one (one Response per invitation, its timeline event,
reminders off) and reading each round's latest one. What an answer means is
surveys.scoring; reacting to it (recovery) is followup.answers."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from followup.cases import cancel_pending, record_event
from followup.extensions import db
from followup.models import Message, Response, Survey, SurveyInvitation
from followup.models.cadences import StepCondition
from followup.models.cases import EventKind

MAX_TEXT = 2000


def _validated(
    survey: Survey, score: int, comment: str, reason_codes: list[str], answers: dict
) -> tuple[str, list[str]]:
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(f"score must be a whole number, got {score!r}")
    if not survey.scale_min <= score <= survey.scale_max:
        raise ValueError(f"score must be from {survey.scale_min} to {survey.scale_max}")
    comment = (comment or "").strip()
    if len(comment) > MAX_TEXT:
        raise ValueError(f"comment must be at most {MAX_TEXT} characters")
    known = {reason["code"] for reason in survey.reasons or []}
    unknown = [code for code in reason_codes if code not in known]
    if unknown:
        raise ValueError(f"unknown reason codes: {', '.join(map(str, unknown))}")
    if not isinstance(answers, dict):
        raise ValueError("answers must be a mapping")
    return comment, list(dict.fromkeys(reason_codes))


def _new_response(invitation: SurveyInvitation, now: datetime) -> Response:
    """The invitation's Response, added (a recovery check-in's carries its recovery)."""
    response = Response(
        invitation_id=invitation.id,
        case_id=invitation.case_id,
        survey_id=invitation.survey_id,
        round=invitation.round,
        recovery_id=db.session.scalar(
            sa.select(Message.recovery_id).where(Message.id == invitation.message_id)
        ),
        created_at=now,
    )
    db.session.add(response)
    return response


def record_response(
    invitation: SurveyInvitation,
    *,
    score: int,
    comment: str = "",
    reason_codes: list[str] | None = None,
    answers: dict | None = None,
    channel: str,
    now: datetime,
) -> tuple[Response, bool, bool]:
    """Create or update the invitation's one Response: (it, whether it is new, whether it
    changed anything).

    Raises ValueError for a score outside the survey's scale or an unknown reason code.
    Adds "response.recorded" or "response.changed" to the case's timeline (nothing when a
    resubmission changes nothing), cancels the pending "no_answer" messages it answers (the
    cadence's, or the recovery's for a recovery check-in). Flushes; the caller commits.
    """
    survey = invitation.survey
    answers = dict(answers or {})
    comment, reason_codes = _validated(survey, score, comment, list(reason_codes or []), answers)
    response = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))
    created = response is None
    detail = {"score": score, "comment": comment, "reason_codes": reason_codes, "channel": channel}
    kind: EventKind | None
    if response is None:
        response = _new_response(invitation, now)
        kind = EventKind.RESPONSE_RECORDED
    else:
        unchanged = (
            response.score == score
            and response.comment == comment
            and list(response.reason_codes or []) == reason_codes
            and dict(response.answers or {}) == answers
        )
        kind = None if unchanged else EventKind.RESPONSE_CHANGED
        detail["previous_score"] = response.score
    response.score = score
    response.comment = comment
    response.reason_codes = reason_codes
    response.answers = answers
    response.channel = channel
    response.updated_at = now
    db.session.flush()
    if kind:
        record_event(invitation.case_id, kind, detail, at=now)
    answered = Message.recovery_id.is_(None) if response.recovery_id is None else (
        Message.recovery_id == response.recovery_id
    )  # fmt: skip
    cancel_pending(
        invitation.case_id, "answered", Message.condition == StepCondition.NO_ANSWER, answered
    )
    db.session.flush()
    return response, created, kind is not None


def latest_answers(rounds: set[tuple[int, int]]) -> dict[tuple[int, int], Response]:
    """Each (case, round)'s latest answer to the cadence's own survey (not a recovery
    check-in), with its survey, in one query."""
    if not rounds:
        return {}
    answers = db.session.scalars(
        sa.select(Response)
        .where(
            sa.tuple_(Response.case_id, Response.round).in_(list(rounds)),
            Response.recovery_id.is_(None),
        )
        .order_by(Response.updated_at, Response.id)
        .options(selectinload(Response.invitation).selectinload(SurveyInvitation.survey))
    )
    return {(answer.case_id, answer.round): answer for answer in answers}  # the latest wins


def latest_answer(case_id: int, round_number: int) -> Response | None:
    return latest_answers({(case_id, round_number)}).get((case_id, round_number))


def feedback(answer: Response, survey: Survey) -> dict:
    """What the customer said, for people and templates: score, comment, reason labels,
    what would make it right, and the channel."""
    labels = {reason["code"]: reason["label"] for reason in survey.reasons or []}
    return {
        "score": answer.score,
        "scale_max": survey.scale_max,
        "comment": answer.comment,
        "reasons": [labels.get(code, code) for code in answer.reason_codes or []],
        "make_right": (answer.answers or {}).get("make_right", ""),
        "channel": answer.channel,
    }


def reason_translations(survey: Survey) -> dict[str, dict[str, str]]:
    """The lead's translations of the survey's reason labels, by language and English label
    ({"fr": {"It took too long": "C'était trop long"}}), as the survey page shows them; a
    label without one is the catalog's (followup.outbox_render.translated)."""
    labels = {reason["code"]: reason["label"] for reason in survey.reasons or []}
    return {
        language: {labels[code]: label for code, label in (text.get("reasons") or {}).items()
                   if code in labels and label}
        for language, text in (survey.translations or {}).items()
    }  # fmt: skip
