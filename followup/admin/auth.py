"""Signing in and out of the console. Failed attempts are limited per account and address
together (a stranger's wrong passwords never lock the real user out from another address)
and per address (as the trusted proxies tell it); a user with two-factor sign-in on gives a
code or a recovery code after the password, within five minutes, with failures limited per
user. Sessions are kept server-side (followup.console_sessions): signing out ends this one
for every copy of its cookies; a new password or a deactivation ends them all."""

import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import InputRequired, Length

from followup import audit, console_sessions, two_factor
from followup.admin import bp
from followup.extensions import client_address, db, limiter, login_manager
from followup.models import User
from followup.models.base import utcnow
from followup.users import MAX_PASSWORD, authenticate, can
from followup.web.console import needs
from followup.web.forms import clean_text

# The half-signed-in state between a right password and the second step, in the session.
PENDING = "two_factor_pending"
PENDING_SECONDS = 5 * 60


def _failed(response) -> bool:
    return response.status_code != 303


# Failed sign-in steps from one address, password and code steps together.
per_address = limiter.shared_limit(
    "30 per 15 minutes", scope="sign-in", methods=["POST"], deduct_when=_failed
)


class SignInForm(FlaskForm):
    email = EmailField(
        _l("Email"), filters=[clean_text], validators=[InputRequired(), Length(max=320)]
    )
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=MAX_PASSWORD)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[InputRequired(message=_l("Enter the code from your app")), Length(max=40)],
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of a live console session (see followup.console_sessions)."""
    idle = current_app.config["REMEMBER_COOKIE_DURATION"]
    if not isinstance(idle, timedelta):
        idle = timedelta(seconds=idle)
    return console_sessions.load(user_id, idle)


def _account_and_address() -> str:
    email = request.form.get("email", "").strip().lower()[:320]
    return f"account:{email}|{client_address()}"


def _pending_user() -> str:
    pending = session.get(PENDING)
    return f"user:{pending.get('user')}" if isinstance(pending, dict) else "user:none"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or protocol-relative URL, nor one with
    control characters (a CR LF would split the Location header)."""
    if target and target.startswith("/") and not target.startswith("//") and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("admin.home")


def _start_session(user: User, remember: bool) -> None:
    """Signed in: a new server-side session, in the transaction the caller commits."""
    user.last_sign_in_at = utcnow()
    console_sessions.start(
        user, clean_text(request.remote_addr) or "", clean_text(request.user_agent.string) or ""
    )
    login_user(user, remember=remember)


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(
    "10 per 15 minutes", key_func=_account_and_address, methods=["POST"], deduct_when=_failed
)
@per_address
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            target = _safe_next(request.args.get("next"))
            if user.two_factor:
                session[PENDING] = {
                    "user": user.id, "version": user.session_version,
                    "until": time.time() + PENDING_SECONDS,
                    "remember": bool(form.remember.data), "next": target,
                }  # fmt: skip
                return redirect(url_for("admin.sign_in_code"), code=303)
            _start_session(user, form.remember.data)
            db.session.commit()
            return redirect(target, code=303)
        form.form_errors.append(_("That email and password don't match an active account."))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/sign_in.html", form=form), status


def _pending() -> User | None:
    """The user half signed in (right password, code to come) within the last five minutes,
    while their password and two-factor sign-in stay as they were."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        return None
    if not isinstance(pending.get("user"), int):
        return None
    user = db.session.get(User, pending["user"])
    if user is None or not user.active or not user.two_factor:
        return None
    return user if user.session_version == pending.get("version") else None


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_pending_user, methods=["POST"], deduct_when=_failed)
@per_address
def sign_in_code():
    user = _pending()
    if user is None:
        if session.pop(PENDING, None) is not None:
            flash(_("Five minutes passed since your password: sign in again."))
        return redirect(url_for("admin.sign_in"), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        used = two_factor.check(user, form.code.data)
        if used:
            pending = session.pop(PENDING)
            _start_session(user, pending.get("remember", False))
            if used == "recovery code":
                left = two_factor.recovery_codes_left(user)
                audit.record(
                    "use_recovery_code", "user", user.id,
                    f"{user.email} signed in with a recovery code ({left} left)",
                )  # fmt: skip
            db.session.commit()
            return redirect(pending.get("next") or url_for("admin.home"), code=303)
        db.session.rollback()
        form.code.errors.append(
            _(
                "That code is not right or was used already: wait for the next code in your "
                "app, or use a recovery code."
            )
        )
    status = 422 if request.method == "POST" else 200
    return render_template("admin/sign_in_code.html", form=form), status


@bp.post("/sign-out")
@needs("signed_in")
def sign_out():
    console_sessions.end(current_user._get_current_object())
    db.session.commit()
    logout_user()
    return redirect(url_for("admin.sign_in"), code=303)


@bp.get("/")
@needs("signed_in")
def home():
    if not can(current_user, "read"):  # an agent: their own page is their home
        return redirect(url_for("dashboard.agent_page", user_id=current_user.id), code=303)
    return render_template("admin/home.html")
