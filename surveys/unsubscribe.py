"""The public unsubscribe page /u/<token> of an email's link (surveys.unsubscribe_links).

A GET only shows a button (mail link scanners open every link). The address is suppressed
on a POST: the page's CSRF-protected form, or a mail provider's RFC 8058 one-click POST,
whose body is exactly List-Unsubscribe=One-Click and carries no CSRF token.
"""

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError

from followup.cases import record_event
from followup.extensions import csrf, db
from followup.models import Case, UnsubscribeLink
from followup.models.base import utcnow
from followup.models.cases import EventKind
from followup.suppressions import suppress
from followup.web.pages import private_page
from surveys.tokens import find_by_token
from surveys.unsubscribe_links import ONE_CLICK

bp = Blueprint("unsubscribe", __name__)
bp.after_request(private_page)


def _open_link(token: str) -> tuple[UnsubscribeLink | None, tuple[str, int] | None]:
    """The link of a token, or the error page to show instead (404 or 410)."""
    link = find_by_token(UnsubscribeLink, token)
    if link is None:
        return None, (
            render_template(
                "error.html",
                title=_("We couldn't find this link"),
                message=_(
                    "The link may be incomplete. Please check that you copied the whole "
                    "link from your email."
                ),
            ),
            404,
        )
    g.customer_locale = db.session.get(Case, link.case_id).customer.locale
    if link.expires_at < utcnow():
        return None, (
            render_template(
                "error.html",
                title=_("This link has expired"),
                message=_(
                    "This unsubscribe link is more than a year old. Please use the link "
                    "in a recent email, or reply to it and we will take you off our list."
                ),
            ),
            410,
        )
    return link, None


def _page(token: str, link: UnsubscribeLink, done: bool, error: str = "", status: int = 200):
    page = render_template(
        "surveys/unsubscribe.html", token=token, address=link.address, done=done, error=error
    )
    return page, status


@bp.get("/u/<token>")
def confirm(token: str):
    link, error = _open_link(token)
    if error:
        return error
    return _page(token, link, done=False)


@bp.post("/u/<token>")
@csrf.exempt  # the page's form is checked below; a one-click POST carries no CSRF token
def unsubscribe(token: str):
    link, error = _open_link(token)
    if error:
        return error
    one_click = request.form.to_dict(flat=False) == ONE_CLICK
    if not one_click:
        try:
            csrf.protect()
        except CSRFError:
            expired = _("For your security this page has expired. Please press the button again.")
            return _page(token, link, done=False, error=expired, status=400)
    now = utcnow()
    via = "one-click" if one_click else "page"
    try:
        if suppress("email", link.address, "unsubscribe", f"unsubscribe link ({via})", now):
            detail = {"channel": "email", "address": link.address, "via": via}
            record_event(
                link.case_id, EventKind.CUSTOMER_UNSUBSCRIBED, detail, link.message_id, now
            )
        db.session.commit()
    except IntegrityError:  # a concurrent POST suppressed the address first
        db.session.rollback()
    return _page(token, link, done=True)
