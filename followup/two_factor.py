"""Two-factor sign-in for console users: a TOTP secret per user (pyotp), kept encrypted with
a key derived from SECRET_KEY (Fernet; SECRET_KEY_FALLBACKS still decrypt, and a secret is
re-encrypted under the current key when it is used); the QR code an authenticator app scans
(segno, inline SVG); one-time recovery codes kept as SHA-256. A code is accepted for at most
one time step: the same code, or an older one, never signs in twice. Operations flush; the
caller commits."""

import base64
import logging
import re
import secrets
from typing import cast

import pyotp
import segno
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from pyotp.utils import strings_equal
from sqlalchemy.engine import CursorResult

from followup.extensions import db
from followup.models import RecoveryCode, User
from followup.models.base import secret_hash, utcnow
from followup.models.users import Role

log = logging.getLogger(__name__)

RECOVERY_CODES = 10
# 12 characters of 31 (no 0/o, 1/l/i): about 59 bits each, so a SHA-256 is enough.
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_RECOVERY_LENGTH = 12
# A code from the step before or after the current one is accepted (clocks drift).
_VALID_WINDOW = 1


def required(user: User) -> bool:
    """Whether the user must turn on two-factor sign-in before using the console."""
    return (
        bool(current_app.config.get("REQUIRE_2FA_FOR_ADMINS"))
        and user.role == Role.ADMIN
        and not user.two_factor
    )


def _fernet() -> MultiFernet:
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return MultiFernet([Fernet(_derived_key(key)) for key in keys])


def _derived_key(secret_key: str) -> bytes:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"followup two-factor secrets"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(key)


def _secret(user: User) -> str | None:
    """The user's TOTP secret in the clear; None when there is none or it cannot be read
    (SECRET_KEY changed without the old key in SECRET_KEY_FALLBACKS)."""
    if not user.totp_secret:
        return None
    try:
        return _fernet().decrypt(user.totp_secret.encode()).decode()
    except InvalidToken:
        log.error(
            "The two-factor secret of user %s does not decrypt with SECRET_KEY or "
            "SECRET_KEY_FALLBACKS: they can sign in with a recovery code, or an admin can "
            "reset their two-factor sign-in.",
            user.id,
        )
        return None


def begin(user: User) -> None:
    """A new secret to enrol, not in use until confirmed with a code (confirm)."""
    user.totp_secret = _fernet().encrypt(pyotp.random_base32().encode()).decode()
    user.totp_enabled_at = None
    user.totp_last_step = None


def enrolment(user: User, issuer: str) -> tuple[str, str] | None:
    """The secret being enrolled, grouped in fours for typing, and its QR code as inline SVG;
    None when no enrolment is under way."""
    secret = None if user.two_factor else _secret(user)
    if secret is None:
        return None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    svg = segno.make(uri, error="m").svg_inline(scale=5, light="#fff", title="QR code for your app")
    return " ".join(re.findall(".{1,4}", secret)), svg


def confirm(user: User, code: str) -> list[str] | None:
    """Turn two-factor sign-in on when the code is right for the secret being enrolled: its
    new recovery codes, to show once. None when the code is wrong."""
    if user.two_factor or not _use_code(user, code):
        return None
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(user)


def check(user: User, code: str) -> str | None:
    """What signed in, "code" or "recovery code", when the code is right and unused for
    this user with two-factor sign-in on; else None."""
    if not user.two_factor:
        return None
    if re.fullmatch(r"[0-9]{6}", re.sub(r"\s", "", code)):
        return "code" if _use_code(user, code) else None
    return "recovery code" if _use_recovery_code(user, code) else None


def _use_code(user: User, code: str) -> bool:
    secret = _secret(user)
    code = re.sub(r"\s", "", code)
    if secret is None or not re.fullmatch(r"[0-9]{6}", code):
        return False
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    steps = range(now - _VALID_WINDOW, now + _VALID_WINDOW + 1)
    step = next((s for s in steps if strings_equal(code, totp.generate_otp(s))), None)
    if step is None:
        return False
    # Taken in one statement, so two requests with the same code cannot both win.
    won = cast(
        CursorResult,
        db.session.execute(
            sa.update(User)
            .where(
                User.id == user.id,
                sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(user)
    if won and current_app.config.get("SECRET_KEY_FALLBACKS") and user.totp_secret:
        user.totp_secret = _fernet().rotate(user.totp_secret.encode()).decode()
    return bool(won)


def _code_hash(code: str) -> str:
    return secret_hash(re.sub(r"[\s-]", "", code).lower())


def new_recovery_codes(user: User) -> list[str]:
    """Ten new one-time codes in place of any the user had, shown once (only hashes kept)."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(re.findall(".{4}", raw)))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c)) for c in codes)
    db.session.flush()
    return codes


def _use_recovery_code(user: User, code: str) -> bool:
    if len(code) > 100:
        return False
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult, used).rowcount)


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def turn_off(user: User) -> None:
    """Two-factor sign-in off: secret, time step and recovery codes gone."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
