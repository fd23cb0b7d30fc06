"""Recoveries for the root cause tests: ended ones (recovered or escalated) of a team and an
agent, started some days ago, the default causes on the list (the tests' tables are emptied
after each test, the migration's seed with them), and a console user with the agent role."""

from datetime import timedelta

import sqlalchemy as sa

from followup.extensions import db
from followup.models import Case, Recovery, RootCause, User
from followup.models.base import utcnow
from tests.support.answers import record_negative_answer
from tests.support.console import password_hash

# The list a new installation starts with, as migration 0022 seeds it (its test checks).
DEFAULTS = (
    ("product_defect", "Product defect"),
    ("policy", "Policy"),
    ("agent_knowledge", "Agent knowledge"),
    ("delay", "Delay"),
    ("communication", "Communication"),
)


def ended_recovery(n: int, status: str = "escalated", team: str | None = "North",
                   agent: str | None = "Sam Rivera", days_ago: int = 0) -> Recovery:  # fmt: skip
    """A first negative answer on case R-<n> (the standard setup needed), its recovery
    marked `status` ("open": left open) and started `days_ago`, committed."""
    recovery = record_negative_answer(n)
    db.session.execute(
        sa.update(Case).where(Case.id == recovery.case_id).values(team=team, agent_name=agent)
    )
    # A few minutes before now, but on the same UTC day (just after midnight a recovery
    # started "today" would otherwise fall on yesterday).
    started = utcnow() - timedelta(days=days_ago)
    recovery.started_at = max(
        started - timedelta(minutes=5), started.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    if status != "open":
        recovery.status, recovery.outcome_at = status, utcnow()
    db.session.commit()
    return recovery


def with_defaults() -> None:
    """The default root causes on the (emptied) list, as the migration seeds them."""
    if not db.session.scalar(sa.select(sa.func.count(RootCause.id))):
        for position, (key, name) in enumerate(DEFAULTS):
            db.session.add(RootCause(key=key, name=name, active=True, position=position))
    db.session.commit()


def agent_user() -> User:
    """A console user with the agent role (password: tests.support.console.PASSWORD)."""
    user = User(email="agent@example.com", role="agent", name="Test Agent",
                password_hash=password_hash(), session_version=1, agent="Sam Rivera")  # fmt: skip
    db.session.add(user)
    db.session.commit()
    return user
