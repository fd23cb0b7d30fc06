"""Console users: creating them, passwords (hashed with scrypt), roles and what each may do.
Operations flush; the caller commits."""

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from werkzeug.security import check_password_hash, generate_password_hash

from followup.extensions import db
from followup.models import User
from followup.models.users import ROLES, Role

MIN_PASSWORD = 12
MAX_PASSWORD = 200
# What each role may do: read configuration (and the dashboard), change it, manage users.
ABILITIES = {
    Role.ADMIN: {"read", "configure", "users"},
    Role.LEAD: {"read", "configure"},
    Role.MANAGER: {"read"},
    Role.AGENT: {"own"},  # their own figures, verbatims and kudos; no configuration
}
# A hash to check a password against when the account does not exist, so an unknown email
# takes as long to refuse as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class UserError(ValueError):
    """A user that cannot be created or changed as asked; `field` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise UserError("email", str(error)) from None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"use at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"use at most {MAX_PASSWORD} characters"
    return None


def set_password(user: User, password: str) -> None:
    """A new password ends the user's other sessions."""
    if problem := password_problem(password):
        raise UserError("password", problem)
    user.password_hash = generate_password_hash(password)
    user.session_version = (user.session_version or 0) + 1


def create_user(email: str, role: str, password: str, name: str = "") -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise UserError("role", f"must be one of {', '.join(ROLES)}")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise UserError("email", "a user with this email exists already")
    user = User(email=email, role=role, name=name.strip())
    set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None (in about the same time)."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def can(user, ability: str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and ability in ABILITIES.get(
        user.role, set()
    )
