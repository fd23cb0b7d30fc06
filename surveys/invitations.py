"""Survey invitations: one per message that carries a survey, and the links it puts in it."""

from datetime import datetime, timedelta

import sqlalchemy as sa

from followup.extensions import db
from followup.models import Message, Survey, SurveyInvitation
from surveys.tokens import hash_token, new_nonce, token_for


def invitation_for(
    message: Message, survey: Survey, secret_key: str, now: datetime, window_days: int
) -> SurveyInvitation:
    """The message's invitation, made on first use; a resend keeps the same link."""
    invitation = db.session.scalar(
        sa.select(SurveyInvitation).where(SurveyInvitation.message_id == message.id)
    )
    if invitation is None:
        nonce = new_nonce()
        invitation = SurveyInvitation(
            survey_id=survey.id,
            case_id=message.case_id,
            customer_id=message.customer_id,
            message_id=message.id,
            round=message.round,
            channel=message.channel,
            nonce=nonce,
            token_hash=hash_token(token_for(secret_key, nonce)),
            expires_at=now + timedelta(days=window_days),
        )
        db.session.add(invitation)
    return invitation


def find_invitation(token: str) -> SurveyInvitation | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        sa.select(SurveyInvitation).where(SurveyInvitation.token_hash == hash_token(token))
    )


def survey_links(
    invitation: SurveyInvitation, survey: Survey, secret_key: str, base_url: str
) -> dict:
    """The template context's `survey`: the page URL and one-click URLs per score."""
    url = f"{base_url}/s/{token_for(secret_key, invitation.nonce)}"
    return {
        "url": url,
        "question": survey.question,
        "score_urls": [
            {"score": score, "url": f"{url}?score={score}"}
            for score in range(survey.scale_min, survey.scale_max + 1)
        ],
    }
