"""Themes and comments made as rows, without the embedding model: a Theme, and an answer with
a comment (its customer, case and invitation) put in a theme (or in none) with a small
vector, answered some days ago. For the themes' dashboard, console and alert tests and the
console tour; the standard setup (the "csat" survey) must be there."""

import itertools
from datetime import UTC, datetime, time, timedelta

import numpy as np
import sqlalchemy as sa

from followup.extensions import db
from followup.models import (
    Case,
    CommentEmbedding,
    Customer,
    Response,
    Survey,
    SurveyInvitation,
    Theme,
)
from followup.models.base import utcnow

_numbers = itertools.count(1)


def vector(*values: float) -> bytes:
    """A unit float32 vector's bytes (the embeddings' storage)."""
    array = np.array(values, dtype=np.float32)
    return (array / np.linalg.norm(array)).astype(np.float32).tobytes()


def theme(name: str, words=(), centroid=(1.0, 0.0, 0.0, 0.0), **columns) -> Theme:
    """A live theme, flushed."""
    row = Theme(name=name, words=list(words), examples=[], centroid=vector(*centroid), size=0,
                **columns)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


def day(days_ago: int, hour: int = 12) -> datetime:
    """`hour` o'clock UTC `days_ago` days before today."""
    return datetime.combine(utcnow().date() - timedelta(days=days_ago), time(hour), UTC)


def comment(
    text: str,
    in_theme: Theme | None,
    score: int = 4,
    days_ago: int = 0,
    team: str | None = "North",
    agent: str | None = "Ana",
    locale: str = "en",
    channel: str = "web",
    values=(1.0, 0.0, 0.0, 0.0),
    embedded: bool = True,
) -> Response:
    """An answer with this comment on a new case C-<n> of its own customer, answered
    `days_ago` (at noon UTC), embedded into `in_theme` (None: in no theme) unless not
    `embedded`; flushed. An example of its theme while the theme has fewer than three."""
    n = next(_numbers)
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    customer = Customer(name=f"Customer {n}", email=f"c{n}@example.com", locale=locale)
    case = Case(external_id=f"C-{n}", customer=customer, subject="Order", status="closed",
                round=1, team=team, agent_name=agent)  # fmt: skip
    db.session.add(case)
    db.session.flush()
    at = day(days_ago)
    invitation = SurveyInvitation(survey_id=survey.id, case_id=case.id, customer_id=customer.id,
                                  round=1, channel=channel, nonce=f"{n:032x}",
                                  token_hash=f"theme-test-{n:053x}",
                                  expires_at=at + timedelta(days=14), created_at=at)  # fmt: skip
    db.session.add(invitation)
    db.session.flush()
    response = Response(invitation_id=invitation.id, case_id=case.id, survey_id=survey.id,
                        round=1, score=score, comment=text, channel=channel, created_at=at,
                        updated_at=at)  # fmt: skip
    db.session.add(response)
    db.session.flush()
    if embedded:
        db.session.add(CommentEmbedding(response_id=response.id, theme_id=in_theme.id if in_theme
                                        else None, model="test", vector=vector(*values),
                                        embedded_at=at))  # fmt: skip
        if in_theme is not None:
            in_theme.size += 1
            if len(in_theme.examples or []) < 3:
                in_theme.examples = [*(in_theme.examples or []), response.id]
    db.session.flush()
    return response
