"""The public survey pages: /s/<token> (answer, change an answer) and /s/<token>/thanks.

A GET never records anything (mail link scanners open every link); an answer counts only
on an explicit, CSRF-protected POST.
"""

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError

from followup.answers import record_answer
from followup.extensions import db
from followup.languages import page_language
from followup.models import SurveyInvitation
from followup.models.base import utcnow
from followup.web.pages import private_page
from followup.web.survey_page import CsatForm, csat_form, local_date, render_survey, requested_score
from surveys.invitations import find_invitation
from surveys.scoring import is_negative

bp = Blueprint("surveys", __name__)
bp.after_request(private_page)


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


def _render(
    invitation: SurveyInvitation, token: str, form: CsatForm, status: int = 200
) -> tuple[str, int]:
    return render_survey(
        invitation.survey,
        invitation.case,
        form,
        token=token,
        response=invitation.response,
        expires_on=local_date(invitation.expires_at, invitation.customer.timezone),
        status=status,
    )


def _form(invitation: SurveyInvitation, **kwargs) -> CsatForm:
    return csat_form(invitation.survey, page_language(), **kwargs)


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
            "answers": answer.answers or {},
        }
    requested = requested_score(invitation.survey)
    if requested is not None:
        data["score"] = requested
    form = _form(invitation, formdata=None, data=data)
    return _render(invitation, token, form)


@bp.post("/s/<token>")
def submit(token: str):
    invitation, error = _open_invitation(token)
    if error:
        return error
    form = _form(invitation)
    if not form.validate():
        return _render(invitation, token, form, 422)
    answer = {
        "score": form.score.data,
        "comment": form.comment.data or "",
        "reason_codes": list(form.reasons.data or []),
        "answers": form.answers(),
        "channel": "web",
    }
    try:
        record_answer(invitation, now=utcnow(), **answer)
        db.session.commit()
    except ValueError as exc:  # the survey changed under the form; show the page again
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render(invitation, token, form, 422)
    except IntegrityError:  # a concurrent first answer won the race: update it instead
        db.session.rollback()
        record_answer(invitation, now=utcnow(), **answer)
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
    form = _form(invitation)
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
        expires_on=local_date(invitation.expires_at, invitation.customer.timezone),
    )
