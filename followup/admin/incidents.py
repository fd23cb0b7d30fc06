"""Console pages: incidents (followup.incidents). Everyone who reads the configuration sees
the list and each incident's page (its window, segment, apology cadence and what it held);
leads and admins declare and end them, audited. Times are entered and shown in the
organisation's time zone (FOLLOWUP_TIMEZONE)."""

from datetime import datetime

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from followup import incidents
from followup.admin import bp
from followup.admin.cadence_forms import split_list
from followup.extensions import db
from followup.incidents import MAX_VALUE_CHARS, MAX_VALUES, IncidentError
from followup.models import Incident
from followup.models.base import utcnow
from followup.models.incidents import SEGMENT_FIELDS
from followup.web.forms import clean_text
from followup.web.pages import found

LISTED = 200
MOMENT = "%Y-%m-%dT%H:%M"


def _segment_list(form, field) -> None:
    values = split_list(field.data)
    if len(values) > MAX_VALUES:
        raise ValidationError(_("at most %(count)s values", count=MAX_VALUES))
    if any(len(value) > MAX_VALUE_CHARS for value in values):
        raise ValidationError(
            _("each value is at most %(count)s characters", count=MAX_VALUE_CHARS)
        )


def _segment_field(label: LazyString) -> StringField:
    return StringField(label, filters=[clean_text], validators=[Length(max=8000), _segment_list])


class IncidentForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[clean_text],
        validators=[DataRequired(message=_l("Enter a name")), Length(max=200)],
    )
    starts_at = DateTimeLocalField(
        _l("Starts"), format=MOMENT, validators=[Optional()],
        render_kw={"step": 60},
    )  # fmt: skip
    ends_at = DateTimeLocalField(
        _l("Planned end"), format=MOMENT, validators=[Optional()], render_kw={"step": 60}
    )
    tags = _segment_field(_l("Case tags"))
    teams = _segment_field(_l("Teams"))
    sources = _segment_field(_l("Source channels"))
    apology_cadence = SelectField(_l("Apology cadence"), default="")


def _zone() -> str:
    return current_app.config["TIMEZONE"]


def _form() -> IncidentForm:
    form = IncidentForm()
    form.apology_cadence.choices = [("", _("None: hold their surveys"))] + [
        (str(ident), name) for ident, name in incidents.apology_choices()
    ]
    return form


def _list_page(form: IncidentForm, status: int = 200):
    found_incidents = incidents.listing(LISTED)
    return render_template(
        "admin/incidents.html",
        form=form,
        incidents=found_incidents,
        counts=incidents.hold_counts(i.id for i in found_incidents),
        now=utcnow(),
        local=_local,
        segment_text=incidents.segment_text,
        zone=_zone(),
    ), status


def _local(moment: datetime | None) -> str:
    """A moment as the organisation reads it: 2026-03-02 14:05."""
    return incidents.in_zone(moment, _zone()) if moment else "–"


@bp.get("/incidents", endpoint="incidents")
def incidents_list():
    return _list_page(_form())


@bp.post("/incidents")
def incidents_declare():
    form = _form()
    if form.validate_on_submit():
        field_of = {"ends_at": form.ends_at, "apology_cadence_id": form.apology_cadence}
        try:
            incident = incidents.declare(
                form.name.data,
                incidents.as_utc(form.starts_at.data, _zone()),
                incidents.as_utc(form.ends_at.data, _zone(), "ends_at"),
                {key: split_list(getattr(form, key).data) for key in SEGMENT_FIELDS},
                int(form.apology_cadence.data) if form.apology_cadence.data else None,
                utcnow(),
            )
        except IncidentError as error:
            db.session.rollback()
            target = field_of.get(error.field or "") or getattr(form, error.field or "name")
            target.errors = [*target.errors, error.message]
        else:
            db.session.commit()
            flash(
                _("Incident '%(name)s' declared: surveys in its segment are held.",
                  name=incident.name)
            )  # fmt: skip
            return redirect(url_for("admin.incident", incident_id=incident.id), 303)
    return _list_page(form, 422)


def _incident_page(incident: Incident, status: int = 200, problem: str | None = None):
    counts = incidents.hold_counts([incident.id]).get(incident.id, (0, 0))
    return render_template(
        "admin/incident.html",
        incident=incident,
        counts=counts,
        now=utcnow(),
        local=_local,
        segment_text=incidents.segment_text,
        zone=_zone(),
        problem=problem,
    ), status


@bp.get("/incidents/<int:incident_id>")
def incident(incident_id: int):
    return _incident_page(found(Incident, incident_id))


@bp.post("/incidents/<int:incident_id>/end")
def incident_end(incident_id: int):
    incident = found(Incident, incident_id)
    try:
        incidents.end(incident, utcnow())
    except IncidentError as error:
        db.session.rollback()
        return _incident_page(found(Incident, incident_id), 409, error.message)
    db.session.commit()
    flash(
        _("Incident '%(name)s' ended: cases closing from now on are surveyed again.",
          name=incident.name)
    )  # fmt: skip
    return redirect(url_for("admin.incident", incident_id=incident.id), 303)
