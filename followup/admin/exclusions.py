"""Console pages: survey exclusions, the customer and case tags never surveyed (cases.py's
why_no_survey reads them when a case closes), with how many customers or cases carry each
tag now. Adding and removing one is audited."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from followup import audit
from followup.admin import bp
from followup.extensions import db
from followup.models import Case, Customer, SurveyExclusion
from followup.web.forms import choices_of
from followup.web.pages import found

FIELD_LABELS = {"customer_tag": _l("Customer tag"), "case_tag": _l("Case tag")}
TAGGED = {"customer_tag": Customer, "case_tag": Case}
EXCLUSION_FIELDS = ("field", "value")


class ExclusionForm(FlaskForm):
    field = SelectField(_l("Who"), choices=choices_of(FIELD_LABELS))
    value = StringField(
        _l("Tag"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message=_l("Enter a tag")),
            Length(max=100),
            Regexp(
                r"[A-Za-z0-9_.: -]+\Z",
                message=_l("Use letters, digits, spaces and - _ . : only"),
            ),
        ],
    )


def tag_counts(field: str, values: list[str]) -> dict[str, int]:
    """How many customers (customer_tag) or cases (case_tag) carry each of these lower-case
    tags now, whatever its case, in one query."""
    if not values:
        return {}
    model = TAGGED[field]
    if db.engine.dialect.name == "postgresql":
        tags = sa.case((sa.func.json_typeof(model.tags) == "array", model.tags), else_=None)
        elements = sa.func.json_array_elements_text(tags)
    else:
        elements = sa.func.json_each(model.tags)
    tag = elements.table_valued("value").alias("tag")
    name = sa.func.lower(tag.c.value)
    rows = db.session.execute(
        sa.select(name, sa.func.count(sa.distinct(model.id)))
        .select_from(model)
        .join(tag, sa.true())
        .where(name.in_(values))
        .group_by(name)
    )
    return dict(rows.all())


def _page(form: ExclusionForm, status: int = 200):
    exclusions = db.session.scalars(
        sa.select(SurveyExclusion).order_by(SurveyExclusion.field, SurveyExclusion.value)
    ).all()
    counts = {
        field: tag_counts(field, [e.value for e in exclusions if e.field == field])
        for field in FIELD_LABELS
    }
    return render_template(
        "admin/exclusions.html",
        form=form,
        exclusions=exclusions,
        counts=counts,
        labels=FIELD_LABELS,
    ), status


@bp.get("/exclusions")
def exclusions():
    return _page(ExclusionForm())


@bp.post("/exclusions")
def exclusions_add():
    form = ExclusionForm()
    if form.validate_on_submit():
        exclusion = SurveyExclusion(field=form.field.data, value=form.value.data.lower())
        duplicate = db.session.scalar(
            sa.select(SurveyExclusion.id).where(
                SurveyExclusion.field == exclusion.field, SurveyExclusion.value == exclusion.value
            )
        )
        if duplicate is None:
            db.session.add(exclusion)
            try:
                db.session.flush()
            except IntegrityError:  # the same tag, added at the same moment
                db.session.rollback()
            else:
                who = exclusion.field.replace("_", " ")  # the audit log stays in English
                audit.record("create", "survey_exclusion", exclusion.id,
                             f"{who} {exclusion.value!r} not surveyed", None,
                             audit.snapshot(exclusion, EXCLUSION_FIELDS))  # fmt: skip
                db.session.commit()
                if exclusion.field == "customer_tag":
                    flash(_("Customer tag '%(tag)s' is never surveyed now.", tag=exclusion.value))
                else:
                    flash(_("Case tag '%(tag)s' is never surveyed now.", tag=exclusion.value))
                return redirect(url_for("admin.exclusions"), 303)
        form.value.errors.append(_("'%(tag)s' is already excluded", tag=exclusion.value))
    return _page(form, 422)


@bp.post("/exclusions/<int:exclusion_id>/delete")
def exclusions_remove(exclusion_id: int):
    exclusion = found(SurveyExclusion, exclusion_id)
    label = f"{exclusion.field.replace('_', ' ').capitalize()} '{exclusion.value}'"
    audit.record("delete", "survey_exclusion", exclusion.id, f"{label} surveyed again",
                 audit.snapshot(exclusion, EXCLUSION_FIELDS), None)  # fmt: skip
    db.session.delete(exclusion)
    db.session.commit()
    if exclusion.field == "customer_tag":
        flash(_("Customer tag '%(tag)s' may be surveyed again.", tag=exclusion.value))
    else:
        flash(_("Case tag '%(tag)s' may be surveyed again.", tag=exclusion.value))
    return redirect(url_for("admin.exclusions"), 303)
