"""Console pages: threshold alert rules (followup.alert_rules). Managers, leads and admins
list, create, edit, turn off and on, and delete them (every change audited); agents reach
none of it. The page also shows the open threshold alerts (the managers' queue of them) with
a button to acknowledge each.

Setting alert rules is the managers' own configuration: every route here needs "read", the
ability of the roles that read the figures (admin, lead, manager; an agent has "own" only)."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from followup import alert_rules, audit
from followup.admin import bp
from followup.extensions import db
from followup.models import Alert, AlertRule
from followup.models.alert_rules import AlertRuleKind
from followup.models.base import utcnow
from followup.models.recovery import AlertAudience, AlertKind
from followup.outbound import acknowledge_alert
from followup.web.console import needs
from followup.web.forms import choices_of, clean_text
from followup.web.pages import found, when

RULE_FIELDS = ("name", "kind", "team", "agent", "threshold", "min_answers", "active")
KIND_CHOICES = {
    AlertRuleKind.CSAT_BELOW: _l("CSAT of the last 7 days below a value (%)"),
    AlertRuleKind.CSAT_DROP: _l(
        "CSAT of the last 7 days: more than N points below the 4 weeks before"
    ),
    AlertRuleKind.REASON_BURST: _l("Negative answers naming one reason: more than N in an hour"),
    AlertRuleKind.RECOVERIES_OVERDUE: _l("Recoveries overdue: more than N"),
    AlertRuleKind.THEME_RISING: _l(
        "A comment theme rising: its last 7 days up by N percent on the 7 before"
    ),
}
SHOWN_ALERTS = 100


def _no_control(value: str | None) -> str | None:
    return clean_text(value)


class AlertRuleForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[_no_control],
        validators=[
            DataRequired(message=_l("Name the rule")),
            Length(max=200, message=_l("Keep the name to 200 characters or fewer")),
        ],
    )
    kind = SelectField(
        _l("Watches"), choices=choices_of({str(k): v for k, v in KIND_CHOICES.items()})
    )
    team = StringField(
        _l("Team"),
        filters=[_no_control],
        validators=[Length(max=200, message=_l("Keep the team to 200 characters or fewer"))],
    )
    agent = StringField(
        _l("Agent"),
        filters=[_no_control],
        validators=[Length(max=200, message=_l("Keep the agent to 200 characters or fewer"))],
    )
    threshold = IntegerField(
        _l("Threshold"),
        validators=[InputRequired(message=_l("Enter the threshold, a whole number"))],
    )
    min_answers = IntegerField(
        _l("At least this many answers (CSAT rules) or comments (a rising theme)"),
        validators=[Optional()],
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        problems = alert_rules.rule_problems(
            self.kind.data or "",
            self.threshold.data if not self.threshold.errors else 0,
            self.min_answers.data if not self.min_answers.errors else None,
        )
        for name, message in problems.items():
            field = getattr(self, name)
            if not field.errors:
                field.errors.append(message)
        return valid and not problems


def _open_alerts() -> list:
    return list(
        db.session.scalars(
            sa.select(Alert)
            .where(
                Alert.audience == AlertAudience.MANAGER,
                Alert.kind == AlertKind.THRESHOLD,
                Alert.acknowledged_at.is_(None),
            )
            .order_by(Alert.id.desc())
            .limit(SHOWN_ALERTS)
        )
    )


def _page(form: AlertRuleForm, status: int = 200, editing: AlertRule | None = None):
    rules = db.session.scalars(sa.select(AlertRule).order_by(AlertRule.name, AlertRule.id)).all()
    return render_template(
        "admin/alert_rules.html",
        form=form,
        rules=rules,
        editing=editing,
        alerts=_open_alerts(),
        describe=alert_rules.describe,
        when=when,
    ), status


def _fill(rule: AlertRule, form: AlertRuleForm) -> None:
    rule.name = form.name.data
    rule.kind = form.kind.data
    rule.team = form.team.data or ""
    rule.agent = form.agent.data or ""
    rule.threshold = form.threshold.data
    rule.min_answers = form.min_answers.data or 0
    rule.updated_at = utcnow()


@bp.get("/alert-rules")
def alert_rule_list():
    return _page(AlertRuleForm(formdata=None, data={"min_answers": 30}))


@bp.post("/alert-rules")
@needs("read")
def alert_rule_create():
    form = AlertRuleForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    rule = AlertRule(created_by=current_user.email, active=True)
    _fill(rule, form)
    db.session.add(rule)
    db.session.flush()
    audit.record("create", "alert_rule", rule.id, f"alert rule {rule.name!r}", None,
                 audit.snapshot(rule, RULE_FIELDS))  # fmt: skip
    db.session.commit()
    flash(_("Alert rule “%(name)s” saved: the workers check it every few minutes.", name=rule.name))
    return redirect(url_for("admin.alert_rule_list"), 303)


@bp.get("/alert-rules/<int:rule_id>")
def alert_rule_edit(rule_id: int):
    rule = found(AlertRule, rule_id)
    return _page(AlertRuleForm(obj=rule), editing=rule)


@bp.post("/alert-rules/<int:rule_id>")
@needs("read")
def alert_rule_update(rule_id: int):
    rule = found(AlertRule, rule_id)
    form = AlertRuleForm()
    if not form.validate_on_submit():
        return _page(form, 422, editing=rule)
    before, watched = audit.snapshot(rule, RULE_FIELDS), alert_rules.watched(rule)
    _fill(rule, form)
    afresh = alert_rules.watched(rule) != watched  # a rename alone keeps its breaches
    if afresh:
        alert_rules.reset(rule)
    audit.record("update", "alert_rule", rule.id, f"alert rule {rule.name!r} changed", before,
                 audit.snapshot(rule, RULE_FIELDS))  # fmt: skip
    db.session.commit()
    if afresh:
        flash(
            _("Alert rule “%(name)s” changed: it starts afresh, with nothing in breach.",
              name=rule.name)
        )  # fmt: skip
    else:
        flash(
            _("Alert rule “%(name)s” saved: what it watches is unchanged, so its state stands.",
              name=rule.name)
        )  # fmt: skip
    return redirect(url_for("admin.alert_rule_list"), 303)


@bp.post("/alert-rules/<int:rule_id>/active")
@needs("read")
def alert_rule_toggle(rule_id: int):
    rule = found(AlertRule, rule_id)
    before = audit.snapshot(rule, RULE_FIELDS)
    rule.active = not rule.active
    rule.updated_at = utcnow()
    if not rule.active:
        alert_rules.reset(rule)
    state = "on" if rule.active else "off"
    audit.record("update", "alert_rule", rule.id, f"alert rule {rule.name!r} turned {state}",
                 before, audit.snapshot(rule, RULE_FIELDS))  # fmt: skip
    db.session.commit()
    if rule.active:
        flash(_("Alert rule “%(name)s” is on.", name=rule.name))
    else:
        flash(_("Alert rule “%(name)s” is off.", name=rule.name))
    return redirect(url_for("admin.alert_rule_list"), 303)


@bp.post("/alert-rules/<int:rule_id>/delete")
@needs("read")
def alert_rule_delete(rule_id: int):
    rule = found(AlertRule, rule_id)
    name = rule.name
    audit.record("delete", "alert_rule", rule.id, f"alert rule {name!r} deleted",
                 audit.snapshot(rule, RULE_FIELDS), None)  # fmt: skip
    alert_rules.delete(rule)
    db.session.commit()
    flash(_("Alert rule “%(name)s” deleted.", name=name))
    return redirect(url_for("admin.alert_rule_list"), 303)


@bp.post("/alert-rules/alerts/<int:alert_id>/acknowledge")
@needs("read")
def alert_rule_alert_acknowledge(alert_id: int):
    alert = found(Alert, alert_id)
    if alert.kind != AlertKind.THRESHOLD:
        message = _("This page acknowledges threshold alerts only.")
        return render_template("error.html", title=_("Not a threshold alert"), message=message), 404
    acknowledged = acknowledge_alert(alert, utcnow())
    db.session.commit()
    flash(
        _("Acknowledged “%(title)s”.", title=alert.title)
        if acknowledged
        else _("That alert was seen already.")
    )
    return redirect(url_for("admin.alert_rule_list"), 303)
