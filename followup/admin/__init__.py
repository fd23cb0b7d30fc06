"""The support lead's console under /admin (sign-in, roles, configuration pages) and the
load balancer's probes (/healthz, /readyz, /metrics).

Every console view is checked here, before it runs: a visitor who is not signed in goes to
the sign-in page; a signed-in user without the view's ability gets a 403. A view's ability
is the one it names with @needs, else "read" for GET and HEAD and "configure" otherwise.
"""

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user

from followup.extensions import db
from followup.users import can

bp = Blueprint("admin", __name__, url_prefix="/admin")
probes = Blueprint("probes", __name__)
PUBLIC_VIEWS = {"admin.sign_in"}
MAX_ID = 2**31 - 1  # an id beyond the integer columns' range is simply not there


def needs(ability: str):
    """Mark a view as needing this ability ("read", "configure" or "users"; "signed_in":
    any signed-in user)."""

    def mark(view):
        view.needs_ability = ability
        return view

    return mark


def accepts_up_to(max_bytes: int):
    """Mark a view as taking request bodies up to this size (FOLLOWUP_MAX_REQUEST_BYTES
    elsewhere): template editors, code uploads."""

    def mark(view):
        view.max_body_bytes = max_bytes
        return view

    return mark


def found(model, ident: int):
    """The row with this id, else a 404."""
    if ident > MAX_ID:
        abort(404)
    return db.get_or_404(model, ident)


@bp.url_value_preprocessor
def body_limit(endpoint: str | None, _values: dict | None) -> None:
    """A view's own body limit, in force before anything reads the body (the CSRF check)."""
    limit = getattr(current_app.view_functions.get(endpoint), "max_body_bytes", None)
    if limit:
        request.max_content_length = request.max_form_memory_size = limit


@bp.before_request
def check_access():
    if request.endpoint in PUBLIC_VIEWS:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("admin.sign_in", next=request.full_path.rstrip("?")))
    view = current_app.view_functions.get(request.endpoint)
    default = "read" if request.method in ("GET", "HEAD") else "configure"
    ability = getattr(view, "needs_ability", default)
    if ability != "signed_in" and not can(current_user, ability):
        abort(403)
    return None


@bp.after_request
def private_page(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.app_context_processor
def console_context():
    return {"can": lambda ability: can(current_user, ability)}


from followup.admin import (  # noqa: E402,F401  (registers the views)
    audit_log,
    auth,
    cadences,
    exclusions,
    goodwill,
    health,
    recoveries,
    surveys,
    templates,
    users,
)
