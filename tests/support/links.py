"""The customer's links of a closed case: its check-in's survey token and its thank-you's
unsubscribe token, derived from the stored nonces as the product derives them (so they do not
depend on which channel carried the messages)."""

from datetime import timedelta

import sqlalchemy as sa

from followup.extensions import db
from followup.models import SurveyInvitation, UnsubscribeLink
from followup.models.base import utcnow
from surveys.tokens import token_for
from tests.support.answers import SURVEY_SECRET
from tests.support.cases import close, sweep_and_dispatch


def link_tokens(client, auth) -> dict[str, str]:
    """{"survey": token, "unsubscribe": token} of case O-1, closed now and its thank-you and
    check-in sent."""
    assert close(client, auth).status_code == 202
    sweep_and_dispatch()
    sweep_and_dispatch(at=utcnow() + timedelta(hours=24, minutes=1))
    invitation = db.session.scalar(sa.select(SurveyInvitation))
    link = db.session.scalars(sa.select(UnsubscribeLink)).first()
    return {
        "survey": token_for(SURVEY_SECRET, invitation.nonce),
        "unsubscribe": token_for(SURVEY_SECRET, link.nonce),
    }
