"""Console pages: surveys. The list (with the current cadences that use each), create
(CSAT, NPS or CES with its standard scale and bands), edit (question, bands, negative
keywords, reasons, extra questions and the text in each other language), archive and
unarchive, and a preview of the customer's page. The forms are in survey_forms, the rules in
surveys.editing."""

from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from sqlalchemy.exc import IntegrityError

from followup import audit
from followup.admin import bp
from followup.admin.survey_forms import NewSurveyForm, editor_form
from followup.extensions import db
from followup.languages import LANGUAGES, language_name
from followup.models import Survey
from followup.models.base import utcnow
from followup.web.pages import found
from followup.web.survey_page import csat_form, local_date, render_survey, requested_score
from surveys.editing import (
    MAX_QUESTIONS,
    create,
    key_taken,
    sending_cadences,
    set_archived,
    used_by,
)
from surveys.kinds import KINDS

AUDITED = (
    "key", "kind", "name", "question", "scale_min", "scale_max", "negative_min",
    "negative_max", "positive_min", "positive_max", "negative_keywords", "reasons",
    "questions", "translations", "archived_at",
)  # fmt: skip
SAMPLE_CASE = SimpleNamespace(subject="Parcel never arrived")


# The list, archive and unarchive


@bp.get("/surveys")
def surveys():
    rows = db.session.scalars(
        sa.select(Survey).order_by(Survey.archived_at.is_not(None), Survey.name, Survey.id)
    )
    return render_template("admin/surveys/list.html", surveys=list(rows), used_by=used_by())


@bp.post("/surveys/<int:survey_id>/archive")
def surveys_archive(survey_id: int):
    survey = found(Survey, survey_id)
    before = audit.snapshot(survey, AUDITED)
    if in_use := sending_cadences(survey):
        flash(
            _(
                "“%(name)s” is not archived: the cadences %(cadences)s still send it. Choose "
                "another survey in them first.",
                name=survey.name,
                cadences=", ".join(in_use),
            )
        )
    elif set_archived(survey, True, utcnow()):
        audit.record(
            "archive", "survey", survey.id, f"Archived survey {survey.key}",
            before, audit.snapshot(survey, AUDITED),
        )  # fmt: skip
        db.session.commit()
        flash(_("“%(name)s” is archived: links already sent keep working.", name=survey.name))
    return redirect(url_for("admin.surveys"), code=303)


@bp.post("/surveys/<int:survey_id>/unarchive")
def surveys_unarchive(survey_id: int):
    survey = found(Survey, survey_id)
    before = audit.snapshot(survey, AUDITED)
    if set_archived(survey, False, utcnow()):
        audit.record(
            "unarchive", "survey", survey.id, f"Unarchived survey {survey.key}",
            before, audit.snapshot(survey, AUDITED),
        )  # fmt: skip
        db.session.commit()
        flash(_("“%(name)s” is back: cadences can use it again.", name=survey.name))
    return redirect(url_for("admin.surveys"), code=303)


# Create and edit


@bp.route("/surveys/new", methods=["GET", "POST"])
def surveys_new():
    form = NewSurveyForm()
    if form.validate_on_submit():
        if key_taken(form.key.data):
            form.key.errors.append(_("a survey with this key exists already"))
        else:
            try:
                survey = create(form.key.data, form.name.data, form.kind.data)
                audit.record(
                    "create", "survey", survey.id, f"Created survey {survey.key}",
                    None, audit.snapshot(survey, AUDITED),
                )  # fmt: skip
                db.session.commit()
            except IntegrityError:  # the same key, created at the same moment
                db.session.rollback()
                form.key.errors.append(_("a survey with this key exists already"))
            else:
                flash(
                    _(
                        "“%(name)s” is created. Check its question and reasons below.",
                        name=survey.name,
                    )
                )
                return redirect(url_for("admin.surveys_edit", survey_id=survey.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/surveys/new.html", form=form, kinds=KINDS), status


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
def surveys_edit(survey_id: int):
    survey = found(Survey, survey_id)
    form = editor_form(survey)
    if request.method == "POST" and form.validate():
        before = audit.snapshot(survey, AUDITED)
        for name, value in form.values.items():
            setattr(survey, name, value)
        after = audit.snapshot(survey, AUDITED)
        if before != after:
            audit.record("update", "survey", survey.id, f"Edited survey {survey.key}",
                         before, after)  # fmt: skip
            db.session.commit()
            flash(_("“%(name)s” is saved.", name=survey.name))
        else:
            flash(_("Nothing changed."))
        return redirect(url_for("admin.surveys_edit", survey_id=survey.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/surveys/edit.html",
        form=form,
        survey=survey,
        kind=KINDS.get(survey.kind, KINDS["csat"]),
        max_questions=MAX_QUESTIONS,
        languages={language: language_name(language) for language in ("en", *form.languages)},
        other_languages={language: language_name(language) for language in form.languages},
        used_by=used_by().get(survey.id, []),
    ), status


# Preview


@bp.get("/surveys/<int:survey_id>/preview")
def surveys_preview(survey_id: int):
    """The customer's page of this survey on a sample case, in ?language= and with ?score=
    chosen; its form sends nothing."""
    survey = found(Survey, survey_id)
    language = request.args.get("language", "en")
    g.customer_locale = language if language in LANGUAGES else "en"
    refresh()
    score = requested_score(survey)
    form = csat_form(
        survey, g.customer_locale, formdata=None, data={} if score is None else {"score": score}
    )
    window = timedelta(days=current_app.config["SURVEY_WINDOW_DAYS"])
    expires_on = local_date(utcnow() + window, None)
    return render_survey(survey, SAMPLE_CASE, form, token=None, expires_on=expires_on)
