"""Signing in and out of the console: rate-limited per account and per address (failed
attempts count), sessions that end when the password changes or the user is deactivated."""

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from followup.admin import bp
from followup.extensions import db, limiter, login_manager
from followup.models import User
from followup.models.base import utcnow
from followup.users import MAX_PASSWORD, authenticate
from followup.web.console import needs


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=MAX_PASSWORD)])
    remember = BooleanField("Keep me signed in on this device")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user while the session's version is the user's current one."""
    identifier, _, version = user_id.partition(":")
    if not identifier.isdigit() or not version.isdigit():
        return None
    return db.session.scalar(
        sa.select(User).where(
            User.id == int(identifier),
            User.session_version == int(version),
            User.active.is_(True),
        )
    )


def _account() -> str:
    return "account:" + request.form.get("email", "").strip().lower()[:320]


def _failed(response) -> bool:
    return response.status_code != 303


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or protocol-relative URL."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("admin.home")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_account, methods=["POST"], deduct_when=_failed)
@limiter.limit("30 per 15 minutes", methods=["POST"], deduct_when=_failed)
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            user.last_sign_in_at = utcnow()
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")), code=303)
        form.form_errors.append("That email and password don't match an active account.")
    status = 422 if request.method == "POST" else 200
    return render_template("admin/sign_in.html", form=form), status


@bp.post("/sign-out")
@needs("signed_in")
def sign_out():
    logout_user()
    return redirect(url_for("admin.sign_in"), code=303)


@bp.get("/")
def home():
    return render_template("admin/home.html")
