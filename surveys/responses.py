"""Recording a survey answer: one Response per invitation, its timeline event, reminders off,
and what the answer means (negative, neutral, positive) for the recovery loop."""

import re
from datetime import datetime

import sqlalchemy as sa

from followup.cases import cancel_pending, record_event
from followup.extensions import db
from followup.models import Message, Response, Survey, SurveyInvitation

MAX_TEXT = 2000


def verdict(survey: Survey, score: int, comment: str = "") -> str:
    """ "negative", "neutral" or "positive": by the survey's bands (CSAT 1-2 / 4-5, NPS 0-6 /
    9-10, CES 5-7 / 1-3), and negative whatever the score when the comment says one of the
    survey's negative keywords (whole words, any case)."""
    if survey.negative_min <= score <= survey.negative_max:
        return "negative"
    if mentions(comment, survey.negative_keywords or []):
        return "negative"
    if survey.positive_min <= score <= survey.positive_max:
        return "positive"
    return "neutral"


def mentions(text: str, phrases: list[str]) -> bool:
    """Whether the text holds one of the words or phrases, whole (any case): "call" is in
    "please call me", not in "nobody called"."""
    words = [re.escape(phrase.strip()) for phrase in phrases if phrase.strip()]
    pattern = rf"(?<!\w)(?:{'|'.join(words)})(?!\w)"
    return bool(words) and re.search(pattern, text or "", re.IGNORECASE) is not None


def is_negative(survey: Survey, score: int, comment: str = "") -> bool:
    return verdict(survey, score, comment) == "negative"


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


def record_response(
    invitation: SurveyInvitation,
    *,
    score: int,
    comment: str = "",
    reason_codes: list[str] | None = None,
    answers: dict | None = None,
    channel: str,
    now: datetime,
) -> tuple[Response, bool]:
    """Create or update the invitation's one Response; True when it is new.

    Raises ValueError for a score outside the survey's scale or an unknown reason code.
    Adds "response.recorded" or "response.changed" to the case's timeline (nothing when a
    resubmission changes nothing), cancels the pending "no_answer" messages it answers (the
    cadence's, or the recovery's for a recovery check-in) and lets the recovery loop
    re-evaluate the round. Flushes; the caller commits.
    """
    from followup import recovery

    survey = invitation.survey
    answers = dict(answers or {})
    comment, reason_codes = _validated(survey, score, comment, list(reason_codes or []), answers)
    response = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))
    created = response is None
    detail = {"score": score, "comment": comment, "reason_codes": reason_codes, "channel": channel}
    if created:
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
        kind = "response.recorded"
    else:
        unchanged = (
            response.score == score
            and response.comment == comment
            and list(response.reason_codes or []) == reason_codes
            and dict(response.answers or {}) == answers
        )
        kind = None if unchanged else "response.changed"
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
    cancel_pending(invitation.case_id, "answered", Message.condition == "no_answer", answered)
    db.session.flush()
    if kind:
        recovery.on_response(response, survey, created, now)
    return response, created
