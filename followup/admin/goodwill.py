"""Console pages: the goodwill catalogue (gesture types with their budgets, spend and code
pools), the recovery rules in their order, and links to the apology and check-in the
recovery cadence sends. Every change is audited in its own transaction."""

import re

import sqlalchemy as sa
from babel import Locale
from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from followup import audit
from followup.admin import accepts_up_to, bp, found
from followup.api.recoveries import MAX_CODES, MAX_CODES_BYTES
from followup.extensions import db
from followup.goodwill import add_codes, parse_codes, spent_this_month, unavailable, unused_codes
from followup.languages import LANGUAGES
from followup.models import GestureType, RecoveryRule, Survey
from followup.models.base import utcnow
from followup.models.cases import PRIORITIES
from followup.recovery import recovery_cadence
from surveys.forms import MultiCheckboxField, clean_text

MAX_CENTS = 100_000_000  # 1,000,000.00 in the currency's units
OTHER_LANGUAGES = [language for language in LANGUAGES if language != "en"]
KIND_LABELS = {
    "code": "Code from a pool (a discount, free shipping)",
    "credit": "Account credit (posted to your system's webhook)",
    "task": "Task for a person (a call-back, a handwritten note)",
}
GESTURE_FIELDS = (
    "key", "name", "kind", "offer", "offer_translations", "value_cents", "cost_cents",
    "currency", "monthly_budget_cents", "low_codes", "webhook_url", "assignee", "due_hours",
    "active",
)  # fmt: skip
RULE_FIELDS = (
    "position", "name", "reasons", "priorities", "customer_tags", "asked", "gesture_type_id",
    "active",
)  # fmt: skip
MAX_TAG = 100
TOO_BIG = f"The file is too big: at most {MAX_CODES_BYTES // (1024 * 1024)} MB"
MAX_WORDS = 50


def cents_text(cents: int | None) -> str:
    """Cents as the currency's units: 1050 -> "10.50"."""
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


class MoneyField(StringField):
    """An amount typed in the currency's units ("10.00"), held as whole cents (1000)."""

    def process_formdata(self, valuelist):
        self.data = None
        text = valuelist[0].strip() if valuelist else ""
        if not text:
            return
        if text.startswith("-"):
            raise ValueError("Enter an amount of 0 or more")
        whole = re.fullmatch(r"(\d{1,9})(?:\.(\d*))?", text)
        if whole is None:
            raise ValueError("Enter an amount in numbers, such as 10.00")
        if len(whole.group(2) or "") > 2:
            raise ValueError("Enter an amount with at most 2 decimal places")
        cents = int(whole.group(1)) * 100 + int((whole.group(2) or "").ljust(2, "0"))
        if cents > MAX_CENTS:
            raise ValueError(f"Enter an amount of at most {cents_text(MAX_CENTS)}")
        self.data = cents

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return cents_text(self.data)


def amount_required(message: str):
    """A MoneyField that must hold an amount (0 counts)."""

    def check(form, field) -> None:
        if field.data is None and not field.process_errors:
            raise StopValidation(message)

    return check


def http_url(form, field) -> None:
    """An absolute http(s) URL with a host, if given."""
    if field.data and not re.fullmatch(r"https?://[^\s/?#]+\S*", field.data, re.IGNORECASE):
        raise ValidationError("Enter a full web address starting with https:// or http://")


class GestureTypeForm(FlaskForm):
    key = StringField(
        "Key",
        filters=[clean_text],
        validators=[
            DataRequired(message="Enter a key"),
            Length(max=100),
            Regexp(r"[a-z0-9_-]+\Z", message="Use lower-case letters, digits, - and _ only"),
        ],
    )
    name = StringField(
        "Name", filters=[clean_text], validators=[DataRequired(message="Enter a name"),
                                                   Length(max=200)]
    )  # fmt: skip
    kind = SelectField("Kind", choices=KIND_LABELS)
    offer = StringField("Offer", filters=[clean_text], validators=[Length(max=200)])
    value = MoneyField("Value", validators=[amount_required("Enter a value, such as 0.00")])
    cost = MoneyField("Cost", validators=[amount_required("Enter a cost, such as 5.00")])
    currency = StringField(
        "Currency",
        filters=[lambda value: value.strip().upper() if isinstance(value, str) else value],
        validators=[
            DataRequired(message="Enter a currency"),
            Regexp(r"[A-Z]{3}\Z", message="Enter a three-letter currency code, such as USD"),
        ],
    )
    monthly_budget = MoneyField("Monthly budget", validators=[Optional()])
    low_codes = IntegerField(
        "Low-code alert level",
        validators=[InputRequired(message="Enter a number of codes"), NumberRange(0, 1_000_000)],
    )
    webhook_url = StringField(
        "Webhook URL", filters=[clean_text], validators=[Length(max=500), http_url]
    )
    assignee = StringField("Assignee", filters=[clean_text], validators=[Length(max=200)])
    due_hours = IntegerField(
        "Due in (hours)",
        validators=[InputRequired(message="Enter a number of hours"), NumberRange(1, 8760)],
    )
    active = BooleanField("Active: rules may give it")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        kind = self.kind.data
        if kind != "credit" and self.webhook_url.data:
            self.webhook_url.errors.append(
                "Only a credit is posted to a webhook URL: leave it empty"
            )
            valid = False
        if kind == "credit" and self.value.data == 0:
            self.value.errors.append("Enter what the credit is worth to the customer")
            valid = False
        if kind != "task" and self.assignee.data:
            self.assignee.errors.append("Only a task has an assignee: leave it empty")
            valid = False
        return valid

    def offer_fields(self) -> list:
        return [self[f"offer_{language}"] for language in OTHER_LANGUAGES]


for _language in OTHER_LANGUAGES:
    setattr(
        GestureTypeForm,
        f"offer_{_language}",
        StringField(
            f"Offer in {Locale.parse(_language).get_language_name('en')}",
            filters=[clean_text],
            validators=[Length(max=200)],
        ),
    )


class CodesForm(FlaskForm):
    codes = FileField("CSV file of codes")


def _comma_list(value):
    if not isinstance(value, str):
        return value
    return list(dict.fromkeys(tag for tag in (t.strip() for t in value.split(",")) if tag))


def _line_list(value):
    if not isinstance(value, str):
        return value
    return list(dict.fromkeys(word for word in (w.strip() for w in value.splitlines()) if word))


class ListField(StringField):
    """Items typed in one box (split by `splitter`), held as a list; shown as typed."""

    def __init__(self, label, splitter, joiner: str, **kwargs):
        super().__init__(label, **kwargs)
        self.splitter, self.joiner = splitter, joiner

    def process_formdata(self, valuelist):
        self.data = self.splitter(clean_text(valuelist[0]) if valuelist else "")

    def _value(self) -> str:
        return self.joiner.join(self.data or [])


def short_items(form, field) -> None:
    if len(field.data) > MAX_WORDS:
        raise ValidationError(f"Enter at most {MAX_WORDS}")
    for item in field.data:
        if len(item) > MAX_TAG:
            raise ValidationError(f"“{item[:20]}…” is too long: at most {MAX_TAG} characters each")


class TextListField(ListField):
    widget = TextAreaField.widget


class RuleForm(FlaskForm):
    name = StringField(
        "Name", filters=[clean_text], validators=[DataRequired(message="Enter a name"),
                                                   Length(max=200)]
    )  # fmt: skip
    reasons = MultiCheckboxField("Reasons the customer picked", choices={})
    priorities = MultiCheckboxField(
        "Case priorities", choices={priority: priority for priority in PRIORITIES}
    )
    customer_tags = ListField("Customer tags", _comma_list, ", ", validators=[short_items])
    asked = TextListField(
        "Words in what they asked for", _line_list, "\n", validators=[short_items]
    )
    gesture_type = SelectField("Gesture", choices={})
    active = BooleanField("Active")


def _reason_labels() -> dict[str, str]:
    """Each reason code of the current surveys with its label (the first survey's)."""
    labels = {}
    surveys = db.session.scalars(sa.select(Survey).where(Survey.archived_at.is_(None)))
    for survey in surveys:
        for reason in survey.reasons or []:
            labels.setdefault(reason["code"], reason["label"])
    return labels


def _gesture_names() -> dict[int, str]:
    rows = db.session.execute(sa.select(GestureType.id, GestureType.name).order_by(GestureType.id))
    return dict(rows.all())


def describe(rule: RecoveryRule, reasons: dict[str, str], gestures: dict[int, str]) -> str:
    """What a rule does, in plain words: "When the reason is 'Not solved' → Call-back"."""

    def either(values, labels=None) -> str:
        return " or ".join(f"'{(labels or {}).get(value, value)}'" for value in values)

    conditions = []
    if rule.reasons:
        conditions.append(f"the reason is {either(rule.reasons, reasons)}")
    if rule.priorities:
        conditions.append(f"the case is {either(rule.priorities)}")
    if rule.customer_tags:
        conditions.append(f"the customer is tagged {either(rule.customer_tags)}")
    if rule.asked:
        conditions.append(f"they ask for {either(rule.asked)}")
    when = "When " + " and ".join(conditions) if conditions else "Always"
    then = gestures.get(rule.gesture_type_id, "apologise and check in only")
    return f"{when} → {then}"


def _catalogue_rows(now) -> list[dict]:
    rows = []
    for kind in db.session.scalars(sa.select(GestureType).order_by(GestureType.id)):
        spent = spent_this_month(kind.id, now)
        budget = kind.monthly_budget_cents
        unused = unused_codes(kind.id) if kind.kind == "code" else None
        rows.append(
            {
                "type": kind,
                "spent": spent,
                "percent": round(spent * 100 / budget) if budget else None,
                "unused": unused,
                "low": unused is not None and unused <= kind.low_codes,
                "unavailable": unavailable(kind, now),
            }
        )
    return rows


def _cadence_link(cadence_id: int) -> str:
    try:
        return url_for("admin.cadence", cadence_id=cadence_id)
    except BuildError:  # the cadence pages are not there yet
        return f"/admin/cadences/{cadence_id}"


@bp.get("/goodwill")
def goodwill():
    now = utcnow()
    reasons, gestures = _reason_labels(), _gesture_names()
    rules = db.session.scalars(sa.select(RecoveryRule).order_by(RecoveryRule.position)).all()
    cadence = recovery_cadence()
    return render_template(
        "admin/goodwill/index.html",
        catalogue=_catalogue_rows(now),
        rules=[(rule, describe(rule, reasons, gestures)) for rule in rules],
        cadence=cadence,
        cadence_link=_cadence_link(cadence.id) if cadence else None,
        money=cents_text,
    )


def _save_gesture(form: GestureTypeForm, gesture_type: GestureType) -> None:
    gesture_type.name = form.name.data
    gesture_type.kind = form.kind.data
    gesture_type.offer = form.offer.data
    gesture_type.offer_translations = {
        language: field.data
        for language, field in zip(OTHER_LANGUAGES, form.offer_fields(), strict=True)
        if field.data
    }
    gesture_type.value_cents = form.value.data
    gesture_type.cost_cents = form.cost.data
    gesture_type.currency = form.currency.data
    gesture_type.monthly_budget_cents = form.monthly_budget.data
    gesture_type.low_codes = form.low_codes.data
    gesture_type.webhook_url = form.webhook_url.data or None
    gesture_type.assignee = form.assignee.data or None
    gesture_type.due_hours = form.due_hours.data
    gesture_type.active = form.active.data


def _warn_if_unavailable(gesture_type: GestureType) -> None:
    reason = unavailable(gesture_type, utcnow())
    if reason:
        flash(
            f"{gesture_type.name} cannot be given now ({reason}): the recovery rules pass over "
            "it to the next rule that matches."
        )


def _gesture_form(gesture_type: GestureType | None, **kwargs) -> GestureTypeForm:
    """The form, filled from the gesture type (or the defaults of a new one) until posted."""
    if gesture_type is None:
        defaults = {"value": 0, "cost": 0, "currency": "USD", "low_codes": 10, "due_hours": 24}
        return GestureTypeForm(**defaults, active=True, **kwargs)
    offers = gesture_type.offer_translations or {}
    form = GestureTypeForm(
        obj=gesture_type,
        value=gesture_type.value_cents,
        cost=gesture_type.cost_cents,
        monthly_budget=gesture_type.monthly_budget_cents,
        **{f"offer_{language}": offers.get(language, "") for language in OTHER_LANGUAGES},
        **kwargs,
    )
    del form.key  # a gesture type keeps its key
    return form


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


@bp.route("/goodwill/new", methods=["GET", "POST"])
def goodwill_new():
    form = _gesture_form(None)
    if form.validate_on_submit():
        if db.session.scalar(sa.select(GestureType.id).where(GestureType.key == form.key.data)):
            form.key.errors.append("A gesture type with this key exists already")
        else:
            gesture_type = GestureType(key=form.key.data)
            _save_gesture(form, gesture_type)
            db.session.add(gesture_type)
            try:
                db.session.flush()
            except IntegrityError:  # the same key, saved at the same moment
                db.session.rollback()
                form.key.errors.append("A gesture type with this key exists already")
            else:
                after = audit.snapshot(gesture_type, GESTURE_FIELDS)
                audit.record("create", "gesture_type", gesture_type.id, gesture_type.name, None,
                             after)  # fmt: skip
                db.session.commit()
                flash(f"Added {gesture_type.name}.")
                _warn_if_unavailable(gesture_type)
                return redirect(url_for("admin.goodwill_edit", gesture_id=gesture_type.id), 303)
    return _gesture_page(form, status=422 if request.method == "POST" else 200)


@bp.route("/goodwill/<int:gesture_id>", methods=["GET", "POST"])
def goodwill_edit(gesture_id: int):
    gesture_type = found(GestureType, gesture_id)
    form = _gesture_form(gesture_type)
    if form.validate_on_submit():
        before = audit.snapshot(gesture_type, GESTURE_FIELDS)
        _save_gesture(form, gesture_type)
        after = audit.snapshot(gesture_type, GESTURE_FIELDS)
        audit.record("update", "gesture_type", gesture_type.id, gesture_type.name, before, after)
        db.session.commit()
        flash(f"Saved {gesture_type.name}.")
        _warn_if_unavailable(gesture_type)
        return redirect(url_for("admin.goodwill_edit", gesture_id=gesture_type.id), 303)
    return _gesture_page(form, gesture_type, status=422 if request.method == "POST" else 200)


def _read_codes(gesture_type: GestureType) -> list[str] | str:
    """The codes of the uploaded file, or why they cannot be taken."""
    if gesture_type.kind != "code":
        return f"{gesture_type.name} gives no codes: it is a {gesture_type.kind}"
    upload = request.files.get("codes")
    if upload is None or not upload.filename:
        return "Choose a CSV file of codes"
    data = upload.read(MAX_CODES_BYTES + 1)
    if len(data) > MAX_CODES_BYTES:
        return TOO_BIG
    try:
        codes = parse_codes(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "The file must be UTF-8 text (save it as CSV UTF-8)"
    except ValueError as error:
        return f"The file cannot be read: {error}"
    if not codes:
        return "The file holds no codes: put one code in the first column of each row"
    if len(codes) > MAX_CODES:
        return f"At most {MAX_CODES:,} codes per upload: split the file"
    return codes


@bp.post("/goodwill/<int:gesture_id>/codes")
@accepts_up_to(MAX_CODES_BYTES + 64 * 1024)  # the file and the form around it
def goodwill_codes(gesture_id: int):
    gesture_type = found(GestureType, gesture_id)
    codes = _read_codes(gesture_type)
    if isinstance(codes, str):
        form = _gesture_form(gesture_type, formdata=None)
        return _gesture_page(form, gesture_type, codes_error=codes, status=422)
    result = add_codes(gesture_type, codes, utcnow())
    summary = f"{result['added']} added, {result['skipped']} already there"
    audit.record("upload", "gesture_type", gesture_type.id, f"{gesture_type.name} codes: {summary}",
                 None, result)  # fmt: skip
    db.session.commit()
    flash(f"{gesture_type.name} codes: {summary}. {result['unused']} unused now.")
    return redirect(url_for("admin.goodwill_edit", gesture_id=gesture_type.id), 303)


def _rule_form(rule: RecoveryRule | None) -> RuleForm:
    form = RuleForm(obj=rule if request.method == "GET" else None, active=True)
    reasons = _reason_labels()
    kept = rule.reasons if rule else []
    form.reasons.choices = reasons | {code: code for code in kept if code not in reasons}
    gestures = _gesture_names()
    form.gesture_type.choices = {"": "None: apologise and check in only"} | {
        str(ident): name for ident, name in gestures.items()
    }
    if request.method == "GET" and rule is not None:
        form.gesture_type.data = str(rule.gesture_type_id or "")
    return form


def _save_rule(form: RuleForm, rule: RecoveryRule) -> None:
    rule.name = form.name.data
    rule.reasons = list(form.reasons.data)
    rule.priorities = list(form.priorities.data)
    rule.customer_tags = list(form.customer_tags.data)
    rule.asked = list(form.asked.data)
    rule.gesture_type_id = int(form.gesture_type.data) if form.gesture_type.data else None
    rule.active = form.active.data


def _rule_page(form: RuleForm, rule: RecoveryRule | None):
    status = 422 if request.method == "POST" else 200
    return render_template("admin/goodwill/rule.html", form=form, rule=rule), status


@bp.route("/goodwill/rules/new", methods=["GET", "POST"])
def goodwill_rule_new():
    form = _rule_form(None)
    if form.validate_on_submit():
        last = db.session.scalar(sa.select(sa.func.max(RecoveryRule.position)))
        rule = RecoveryRule(position=0 if last is None else last + 1)
        _save_rule(form, rule)
        db.session.add(rule)
        try:
            db.session.flush()
        except IntegrityError:  # another rule took that position at the same moment
            db.session.rollback()
            form.form_errors.append("Someone added a rule at the same moment: send it again.")
            return _rule_page(form, None)
        audit.record("create", "recovery_rule", rule.id, rule.name, None,
                     audit.snapshot(rule, RULE_FIELDS))  # fmt: skip
        db.session.commit()
        flash(f"Added the rule {rule.name}, last in the order.")
        return redirect(url_for("admin.goodwill") + "#rules", 303)
    return _rule_page(form, None)


@bp.route("/goodwill/rules/<int:rule_id>", methods=["GET", "POST"])
def goodwill_rule_edit(rule_id: int):
    rule = found(RecoveryRule, rule_id)
    form = _rule_form(rule)
    if form.validate_on_submit():
        before = audit.snapshot(rule, RULE_FIELDS)
        _save_rule(form, rule)
        audit.record("update", "recovery_rule", rule.id, rule.name, before,
                     audit.snapshot(rule, RULE_FIELDS))  # fmt: skip
        db.session.commit()
        flash(f"Saved the rule {rule.name}.")
        return redirect(url_for("admin.goodwill") + "#rules", 303)
    return _rule_page(form, rule)


@bp.post("/goodwill/rules/<int:rule_id>/delete")
def goodwill_rule_delete(rule_id: int):
    rule = found(RecoveryRule, rule_id)
    name = rule.name
    audit.record("delete", "recovery_rule", rule.id, name, audit.snapshot(rule, RULE_FIELDS), None)
    db.session.delete(rule)
    db.session.commit()
    flash(f"Deleted the rule {name}.")
    return redirect(url_for("admin.goodwill") + "#rules", 303)


def swap_positions(rule: RecoveryRule, other: RecoveryRule) -> None:
    """Exchange two rules' places without two rules ever sharing one (positions are unique,
    checked row by row): park one below every position first. Flushes; the caller commits."""
    first, second = rule.position, other.position
    lowest = db.session.scalar(sa.select(sa.func.min(RecoveryRule.position)))
    rule.position = min(lowest, 0) - 1
    db.session.flush()
    other.position = first
    db.session.flush()
    rule.position = second
    db.session.flush()


@bp.post("/goodwill/rules/<int:rule_id>/move/<any(up, down):direction>")
def goodwill_rule_move(rule_id: int, direction: str):
    rule = found(RecoveryRule, rule_id)
    if direction == "up":
        nearest = sa.select(RecoveryRule).where(RecoveryRule.position < rule.position)
        nearest = nearest.order_by(RecoveryRule.position.desc())
    else:
        nearest = sa.select(RecoveryRule).where(RecoveryRule.position > rule.position)
        nearest = nearest.order_by(RecoveryRule.position)
    other = db.session.scalar(nearest.limit(1))
    if other is None:
        flash(f"{rule.name} is already {'first' if direction == 'up' else 'last'}.")
        return redirect(url_for("admin.goodwill") + "#rules", 303)
    before = {"position": rule.position}
    try:
        swap_positions(rule, other)
    except IntegrityError:  # the order changed under us
        db.session.rollback()
        flash("The order changed at the same moment: check it and move the rule again.")
        return redirect(url_for("admin.goodwill") + "#rules", 303)
    summary = f"{rule.name} moved {direction}, swapping places with {other.name}"
    audit.record("move", "recovery_rule", rule.id, summary, before, {"position": rule.position})
    db.session.commit()
    flash(f"Moved {rule.name} {direction}.")
    return redirect(url_for("admin.goodwill") + "#rules", 303)
