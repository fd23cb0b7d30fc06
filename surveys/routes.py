"""The public survey pages: /s/<token> (answer, change an answer) and /s/<token>/thanks.

A GET never records anything (mail link scanners open every link); an answer counts only
on an explicit, CSRF-protected POST.
"""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError

from followup.extensions import db
from followup.models import SurveyInvitation
from followup.models.base import utcnow
from surveys.forms import CsatForm, csat_form, score_labels
from surveys.invitations import find_invitation
from surveys.responses import is_negative, record_response

bp = Blueprint("surveys", __name__)


@bp.after_request
def private_page(response: Response) -> Response:
    """Survey pages are personal: never cached, indexed, or leaked by the Referer header."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # same-origin, not no-referrer: Flask-WTF's strict CSRF check on HTTPS needs the Referer.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _not_found() -> tuple[str, int]:
    return render_template(
        "error.html",
        title=_("We couldn't find this survey"),
        message=_(
            "The link may be incomplete. Please check that you copied the whole link "
            "from your message."
        ),
    ), 404


def _closed() -> tuple[str, int]:
    return render_template(
        "error.html",
        title=_("This survey has closed"),
        message=_(
            "Thank you for wanting to tell us how we did. This survey is no longer open "
            "for answers, but you can always reply to our message or contact us directly."
        ),
    ), 410


def _open_invitation(token: str) -> tuple[SurveyInvitation | None, tuple[str, int] | None]:
    """The invitation of a token, or the error page to show instead (404 or 410)."""
    invitation = find_invitation(token)
    if invitation is None:
        return None, _not_found()
    g.customer_locale = invitation.customer.locale  # the page speaks the customer's language
    if invitation.expires_at < utcnow():
        return None, _closed()
    return invitation, None


def _local_date(moment: datetime, timezone: str | None) -> str:
    """A date such as "March 14, 2026" or "14 de marzo de 2026", in the customer's time zone
    when it is known."""
    try:
        moment = moment.astimezone(ZoneInfo(timezone)) if timezone else moment
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return format_date(moment.date(), "long")


def _question(survey) -> str:
    """The survey's question in the page's language; a lead's own wording shows as written."""
    return _(survey.question or "How satisfied are you with how we handled {subject}?")


def _requested_score(invitation: SurveyInvitation) -> int | None:
    """The ?score=N of a one-click link, when it is a whole number on the scale."""
    raw = request.args.get("score", "")
    if not raw.isascii() or not raw.isdigit():
        return None
    score = int(raw)
    survey = invitation.survey
    return score if survey.scale_min <= score <= survey.scale_max else None


def _render(
    invitation: SurveyInvitation, token: str, form: CsatForm, status: int = 200
) -> tuple[str, int]:
    survey = invitation.survey
    return render_template(
        "surveys/survey.html",
        token=token,
        form=form,
        survey=survey,
        question=_question(survey),
        case=invitation.case,
        response=invitation.response,
        labels=score_labels(survey),
        negative_max=survey.negative_max,
        expires_on=_local_date(invitation.expires_at, invitation.customer.timezone),
    ), status


@bp.get("/s/<token>")
def survey_page(token: str):
    invitation, error = _open_invitation(token)
    if error:
        return error
    data: dict = {}
    if invitation.response is not None:
        answer = invitation.response
        data = {
            "score": answer.score,
            "comment": answer.comment,
            "reasons": list(answer.reason_codes or []),
            "make_right": (answer.answers or {}).get("make_right", ""),
        }
    requested = _requested_score(invitation)
    if requested is not None:
        data["score"] = requested
    form = csat_form(invitation.survey, formdata=None, data=data)
    return _render(invitation, token, form)


@bp.post("/s/<token>")
def submit(token: str):
    invitation, error = _open_invitation(token)
    if error:
        return error
    form = csat_form(invitation.survey)
    if not form.validate():
        return _render(invitation, token, form, 422)
    answer = {
        "score": form.score.data,
        "comment": form.comment.data or "",
        "reason_codes": list(form.reasons.data or []),
        "answers": {"make_right": form.make_right.data} if form.make_right.data else {},
        "channel": "web",
    }
    try:
        record_response(invitation, now=utcnow(), **answer)
        db.session.commit()
    except ValueError as exc:  # the survey changed under the form; show the page again
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render(invitation, token, form, 422)
    except IntegrityError:  # a concurrent first answer won the race: update it instead
        db.session.rollback()
        record_response(invitation, now=utcnow(), **answer)
        db.session.commit()
    return redirect(url_for("surveys.thanks", token=token), code=303)


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """A missing or stale CSRF token (a page left open for hours): nothing is recorded; the
    page comes back with what they entered, a fresh token and a request to send it again."""
    token = (request.view_args or {}).get("token", "")
    invitation, page = _open_invitation(token)
    if page:
        return page
    form = csat_form(invitation.survey)
    form.form_errors.append(
        _(
            "For your security this page has expired, so your answer has not been sent yet. "
            "Please check it and send it again."
        )
    )
    return _render(invitation, token, form, 400)


@bp.get("/s/<token>/thanks")
def thanks(token: str):
    invitation, error = _open_invitation(token)
    if error:
        return error
    answer = invitation.response
    if answer is None:
        return redirect(url_for("surveys.survey_page", token=token), code=303)
    return render_template(
        "surveys/thanks.html",
        token=token,
        case=invitation.case,
        response=answer,
        negative=is_negative(invitation.survey, answer.score),
        expires_on=_local_date(invitation.expires_at, invitation.customer.timezone),
    )
