"""Survey invitations: one per message that carries a survey, and the links it puts in it."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from followup.extensions import db
from followup.models import Message, Survey, SurveyInvitation
from surveys.tokens import link_token, lookup_hash, new_token_columns


def invitations_for(
    messages: list[tuple[Message, Survey]], secret_key: str, now: datetime, window_days: int
) -> dict[int, SurveyInvitation]:
    """Each message's invitation by message id, made on first use; a resend keeps its link."""
    found = {
        cast(int, invitation.message_id): invitation  # not None: selected by message id
        for invitation in db.session.scalars(
            sa.select(SurveyInvitation).where(
                SurveyInvitation.message_id.in_([message.id for message, _ in messages])
            )
        )
    }
    for message, survey in messages:
        if message.id in found:
            continue
        found[message.id] = SurveyInvitation(
            survey_id=survey.id,
            case_id=message.case_id,
            customer_id=message.customer_id,
            message_id=message.id,
            round=message.round,
            channel=message.channel,
            expires_at=now + timedelta(days=window_days),
            **new_token_columns(secret_key),
        )
        db.session.add(found[message.id])
    return found


# The survey page's query, built once (its loader options took a tenth of the page's time
# when made on every request); the token's hash is its parameter.
_BY_TOKEN_HASH = (
    sa.select(SurveyInvitation)
    .options(
        joinedload(SurveyInvitation.survey),
        joinedload(SurveyInvitation.case),
        joinedload(SurveyInvitation.customer),
        joinedload(SurveyInvitation.response),
    )
    .where(SurveyInvitation.token_hash == sa.bindparam("token_hash"))
)


def find_invitation(token: str) -> SurveyInvitation | None:
    """The invitation of a token, with what its page shows (survey, case, customer, answer)
    in the same query."""
    token_hash = lookup_hash(token)
    if token_hash is None:
        return None
    return db.session.scalar(_BY_TOKEN_HASH, {"token_hash": token_hash})


def survey_links(
    invitation: SurveyInvitation, survey: Survey, secret_keys: Sequence[str], base_url: str
) -> dict:
    """The template context's `survey`: the page URL and one-click URLs per score."""
    url = f"{base_url}/s/{link_token(invitation, secret_keys)}"
    return {
        "url": url,
        "question": survey.question,
        "score_urls": [
            {"score": score, "url": f"{url}?score={score}"}
            for score in range(survey.scale_min, survey.scale_max + 1)
        ],
    }
