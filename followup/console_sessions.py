"""Console sessions kept server-side. Each sign-in is a row with a random token; the token
rides in Flask-Login's user id ("user:session_version:token", in the signed session cookie
and the remember-me cookie), and only its SHA-256 is stored. Signing out ends the row, so a
copy of either cookie is refused afterwards; a new password or a deactivation ends every
session of the user through session_version; a session unused for longer than the
remember-me cookie lasts has ended too. start and end flush and the caller commits; load
commits its own occasional last-seen time."""

import secrets
from datetime import timedelta

import sqlalchemy as sa

from followup.extensions import db
from followup.models import ConsoleSession, User
from followup.models.base import secret_hash, utcnow

# last_seen_at is written at most this often (not on every request).
SEEN_EVERY = timedelta(minutes=5)
# Ended and idle rows older than this are deleted when their user next signs in.
KEPT_FOR = timedelta(days=30)


def start(user: User, address: str = "", user_agent: str = "") -> None:
    """A new session for the user; user.get_id() carries its token from now on."""
    now = utcnow()
    old = now - KEPT_FOR
    db.session.execute(
        sa.delete(ConsoleSession).where(
            ConsoleSession.user_id == user.id,
            sa.or_(ConsoleSession.ended_at < old, ConsoleSession.last_seen_at < old),
        )
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        ConsoleSession(
            user_id=user.id,
            token_hash=secret_hash(token),
            created_at=now,
            last_seen_at=now,
            address=address[:64],
            user_agent=user_agent[:200],
        )
    )
    db.session.flush()
    user.console_token = token


def load(user_id: str, idle_limit: timedelta) -> User | None:
    """The user of a live session named by Flask-Login's id, else None: the session not
    ended, used within idle_limit, the user active and at the same session_version."""
    identifier, version, token = (user_id.split(":") + ["", ""])[:3]
    if not (identifier.isdigit() and version.isdigit() and token):
        return None
    now = utcnow()
    row = db.session.execute(
        sa.select(User, ConsoleSession)
        .join(ConsoleSession, ConsoleSession.user_id == User.id)
        .where(
            User.id == int(identifier),
            User.session_version == int(version),
            User.active.is_(True),
            ConsoleSession.token_hash == secret_hash(token),
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.last_seen_at > now - idle_limit,
        )
    ).first()
    if row is None:
        return None
    user, session = row
    if session.last_seen_at < now - SEEN_EVERY:
        session.last_seen_at = now
        db.session.commit()
    user.console_token = token
    return user


def end(user: User) -> None:
    """End the session the user object was loaded for."""
    if user.console_token:
        db.session.execute(
            sa.update(ConsoleSession)
            .where(
                ConsoleSession.token_hash == secret_hash(user.console_token),
                ConsoleSession.ended_at.is_(None),
            )
            .values(ended_at=utcnow())
        )
        user.console_token = None
