"""The console's access rule, shared by /admin and /dashboard: a visitor who is not signed in
goes to the sign-in page; an admin who must turn on two-factor sign-in
(FOLLOWUP_REQUIRE_2FA_FOR_ADMINS) goes to their account page and reaches nothing else until
it is on; a signed-in user without the view's ability gets a 403. A view's
ability is the one it names with @needs, else "read" for GET and HEAD and "configure"
otherwise. Console pages are never cached, framed or indexed."""

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from followup import two_factor
from followup.users import can

PUBLIC_VIEWS = {"admin.sign_in", "admin.sign_in_code"}
# All an admin may reach while FOLLOWUP_REQUIRE_2FA_FOR_ADMINS waits for their enrolment.
ENROLMENT_VIEWS = {"admin.account", "admin.two_factor_start", "admin.two_factor_confirm",
                   "admin.sign_out"}  # fmt: skip


def needs(ability: str):
    """Mark a view as needing this ability ("read", "configure" or "users"; "signed_in":
    any signed-in user)."""

    def mark(view):
        view.needs_ability = ability
        return view

    return mark


def check_access():
    if request.endpoint in PUBLIC_VIEWS:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("admin.sign_in", next=request.full_path.rstrip("?")))
    if request.endpoint not in ENROLMENT_VIEWS and two_factor.required(current_user):
        return redirect(url_for("admin.account"), code=303)
    view = current_app.view_functions.get(request.endpoint)
    default = "read" if request.method in ("GET", "HEAD") else "configure"
    ability = getattr(view, "needs_ability", default)
    if ability != "signed_in" and not can(current_user, ability):
        abort(403)
    return None


def console_page(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def console_context():
    return {"can": lambda ability: can(current_user, ability)}
