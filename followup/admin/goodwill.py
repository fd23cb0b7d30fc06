"""Console pages: the goodwill catalogue (gesture types with their budgets, spend and code
pools), the recovery rules in their order, and links to the apology and check-in the
recovery cadence sends. Every change is audited in its own transaction. The forms are in
goodwill_forms, the rules in followup.goodwill_changes."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from followup import audit
from followup.admin import accepts_up_to, bp
from followup.admin.cadence_forms import PRIORITY_LABELS
from followup.admin.goodwill_forms import (
    CodesForm,
    GestureTypeForm,
    cents_text,
    gesture_form,
    rule_form,
    save_gesture,
    save_rule,
)
from followup.extensions import db
from followup.goodwill import MAX_CODES_BYTES, add_codes, unavailable, unused_codes
from followup.goodwill_changes import (
    catalogue_rows,
    codes_in,
    describe,
    gesture_names,
    key_taken,
    no_codes,
    ordered_rules,
    reason_labels,
)
from followup.models import GestureType, RecoveryRule
from followup.models.base import utcnow
from followup.positions import add_last, neighbour, swap_positions
from followup.recovery import recovery_cadence
from followup.web.pages import found

GESTURE_FIELDS = (
    "key", "name", "kind", "offer", "offer_translations", "value_cents", "cost_cents",
    "currency", "monthly_budget_cents", "low_codes", "webhook_url", "assignee", "due_hours",
    "active",
)  # fmt: skip
RULE_FIELDS = (
    "position", "name", "reasons", "priorities", "customer_tags", "asked", "gesture_type_id",
    "active",
)  # fmt: skip


def _cadence_link(cadence_id: int) -> str:
    try:
        return url_for("admin.cadence", cadence_id=cadence_id)
    except BuildError:  # the cadence pages are not there yet
        return f"/admin/cadences/{cadence_id}"


@bp.get("/goodwill")
def goodwill():
    reasons, gestures = reason_labels(), gesture_names()
    cadence = recovery_cadence()
    return render_template(
        "admin/goodwill/index.html",
        catalogue=catalogue_rows(utcnow()),
        rules=[
            (rule, describe(rule, reasons, PRIORITY_LABELS, gestures)) for rule in ordered_rules()
        ],
        cadence=cadence,
        cadence_link=_cadence_link(cadence.id) if cadence else None,
        money=cents_text,
    )


# Gesture types and their codes


def _warn_if_unavailable(gesture_type: GestureType) -> None:
    reason = unavailable(gesture_type, utcnow())
    if reason:
        flash(
            _(
                "%(name)s cannot be given now (%(reason)s): the recovery rules pass over it to "
                "the next rule that matches.",
                name=gesture_type.name,
                reason=reason,
            )
        )


def _gesture_page(form, gesture_type=None, codes_error=None, status=200):
    now = utcnow()
    codes_form = CodesForm(formdata=None)
    if codes_error:
        codes_form.codes.errors = [codes_error]
    return render_template(
        "admin/goodwill/gesture.html",
        form=form,
        gesture_type=gesture_type,
        codes_form=codes_form,
        unused=unused_codes(gesture_type.id) if gesture_type else None,
        unavailable=unavailable(gesture_type, now) if gesture_type else None,
        max_codes_mb=MAX_CODES_BYTES // (1024 * 1024),
    ), status


def _key_taken(form: GestureTypeForm) -> bool:
    if key_taken(form.key.data):
        form.key.errors.append(_("A gesture type with this key exists already"))
        return True
    return False


@bp.route("/goodwill/new", methods=["GET", "POST"])
def goodwill_new():
    form = gesture_form(None)
    if form.validate_on_submit() and not _key_taken(form):
        gesture_type = GestureType(key=form.key.data)
        save_gesture(form, gesture_type)
        db.session.add(gesture_type)
        try:
            db.session.flush()
        except IntegrityError:  # the same key, saved at the same moment
            db.session.rollback()
            form.key.errors.append(_("A gesture type with this key exists already"))
        else:
            after = audit.snapshot(gesture_type, GESTURE_FIELDS)
            audit.record("create", "gesture_type", gesture_type.id, gesture_type.name, None,
                         after)  # fmt: skip
            db.session.commit()
            flash(_("Added %(name)s.", name=gesture_type.name))
            _warn_if_unavailable(gesture_type)
            return redirect(url_for("admin.goodwill_edit", gesture_id=gesture_type.id), 303)
    return _gesture_page(form, status=422 if request.method == "POST" else 200)


@bp.route("/goodwill/<int:gesture_id>", methods=["GET", "POST"])
def goodwill_edit(gesture_id: int):
    gesture_type = found(GestureType, gesture_id)
    form = gesture_form(gesture_type)
    if form.validate_on_submit():
        before = audit.snapshot(gesture_type, GESTURE_FIELDS)
        save_gesture(form, gesture_type)
        after = audit.snapshot(gesture_type, GESTURE_FIELDS)
        audit.record("update", "gesture_type", gesture_type.id, gesture_type.name, before, after)
        db.session.commit()
        flash(_("Saved %(name)s.", name=gesture_type.name))
        _warn_if_unavailable(gesture_type)
        return redirect(url_for("admin.goodwill_edit", gesture_id=gesture_type.id), 303)
    return _gesture_page(form, gesture_type, status=422 if request.method == "POST" else 200)


def _read_codes(gesture_type: GestureType) -> list[str] | str:
    """The codes of the uploaded file, or why they cannot be taken."""
    if problem := no_codes(gesture_type):
        return problem
    upload = request.files.get("codes")
    if upload is None or not upload.filename:
        return _("Choose a CSV file of codes")
    return codes_in(upload.read(MAX_CODES_BYTES + 1))


@bp.post("/goodwill/<int:gesture_id>/codes")
@accepts_up_to(MAX_CODES_BYTES + 64 * 1024)  # the file and the form around it
def goodwill_codes(gesture_id: int):
    gesture_type = found(GestureType, gesture_id)
    codes = _read_codes(gesture_type)
    if isinstance(codes, str):
        form = gesture_form(gesture_type, formdata=None)
        return _gesture_page(form, gesture_type, codes_error=codes, status=422)
    result = add_codes(gesture_type, codes, utcnow())
    summary = f"{result['added']} added, {result['skipped']} already there"
    audit.record("upload", "gesture_type", gesture_type.id, f"{gesture_type.name} codes: {summary}",
                 None, result)  # fmt: skip
    db.session.commit()
    flash(
        _(
            "%(name)s codes: %(added)s added, %(skipped)s already there. %(unused)s unused now.",
            name=gesture_type.name,
            added=result["added"],
            skipped=result["skipped"],
            unused=result["unused"],
        )
    )
    return redirect(url_for("admin.goodwill_edit", gesture_id=gesture_type.id), 303)


# Recovery rules


def _rules_page():
    return redirect(url_for("admin.goodwill") + "#rules", 303)


def _rule_page(form, rule: RecoveryRule | None):
    status = 422 if request.method == "POST" else 200
    return render_template("admin/goodwill/rule.html", form=form, rule=rule), status


@bp.route("/goodwill/rules/new", methods=["GET", "POST"])
def goodwill_rule_new():
    form = rule_form(None)
    if form.validate_on_submit():
        rule = RecoveryRule()
        save_rule(form, rule)
        try:
            add_last(rule)
        except IntegrityError:  # another rule took that position at the same moment
            db.session.rollback()
            form.form_errors.append(_("Someone added a rule at the same moment: send it again."))
            return _rule_page(form, None)
        audit.record("create", "recovery_rule", rule.id, rule.name, None,
                     audit.snapshot(rule, RULE_FIELDS))  # fmt: skip
        db.session.commit()
        flash(_("Added the rule %(name)s, last in the order.", name=rule.name))
        return _rules_page()
    return _rule_page(form, None)


@bp.route("/goodwill/rules/<int:rule_id>", methods=["GET", "POST"])
def goodwill_rule_edit(rule_id: int):
    rule = found(RecoveryRule, rule_id)
    form = rule_form(rule)
    if form.validate_on_submit():
        before = audit.snapshot(rule, RULE_FIELDS)
        save_rule(form, rule)
        audit.record("update", "recovery_rule", rule.id, rule.name, before,
                     audit.snapshot(rule, RULE_FIELDS))  # fmt: skip
        db.session.commit()
        flash(_("Saved the rule %(name)s.", name=rule.name))
        return _rules_page()
    return _rule_page(form, rule)


@bp.post("/goodwill/rules/<int:rule_id>/delete")
def goodwill_rule_delete(rule_id: int):
    rule = found(RecoveryRule, rule_id)
    name = rule.name
    audit.record("delete", "recovery_rule", rule.id, name, audit.snapshot(rule, RULE_FIELDS), None)
    db.session.delete(rule)
    db.session.commit()
    flash(_("Deleted the rule %(name)s.", name=name))
    return _rules_page()


@bp.post("/goodwill/rules/<int:rule_id>/move/<any(up, down):direction>")
def goodwill_rule_move(rule_id: int, direction: str):
    rule = found(RecoveryRule, rule_id)
    other = neighbour(rule, direction)
    if other is None:
        if direction == "up":
            flash(_("%(name)s is already first.", name=rule.name))
        else:
            flash(_("%(name)s is already last.", name=rule.name))
        return _rules_page()
    before = {"position": rule.position}
    try:
        swap_positions(rule, other)
    except IntegrityError:  # the order changed under us
        db.session.rollback()
        flash(_("The order changed at the same moment: check it and move the rule again."))
        return _rules_page()
    summary = f"{rule.name} moved {direction}, swapping places with {other.name}"
    audit.record("move", "recovery_rule", rule.id, summary, before, {"position": rule.position})
    db.session.commit()
    if direction == "up":
        flash(_("Moved %(name)s up.", name=rule.name))
    else:
        flash(_("Moved %(name)s down.", name=rule.name))
    return _rules_page()
