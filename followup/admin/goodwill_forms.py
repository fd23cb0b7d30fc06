"""The goodwill pages' WTForms forms and fields: a gesture type (amounts typed in the
currency's units, held as cents; the offer in each other language), a file of codes, and a
recovery rule (reasons, priorities, customer tags, asked-for words and the gesture), each
filled from its row and saved back to it."""

import re

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
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

from followup.admin.cadence_forms import PRIORITY_LABELS
from followup.goodwill_changes import gesture_names, gesture_problems, reason_labels
from followup.languages import OTHER_LANGUAGES, language_name, not_shown, other_languages_in_use
from followup.models import GestureType, RecoveryRule
from followup.models.cases import PRIORITIES
from followup.targets import url_problem
from followup.web.forms import MultiCheckboxField, choices_of, clean_text

MAX_CENTS = 100_000_000  # 1,000,000.00 in the currency's units
KIND_LABELS = {
    "code": _l("Code from a pool (a discount, free shipping)"),
    "credit": _l("Account credit (posted to your system's webhook)"),
    "task": _l("Task for a person (a call-back, a handwritten note)"),
}
MAX_TAG = 100
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
            raise ValueError(_("Enter an amount of 0 or more"))
        whole = re.fullmatch(r"(\d{1,9})(?:\.(\d*))?", text)
        if whole is None:
            raise ValueError(_("Enter an amount in numbers, such as 10.00"))
        if len(whole.group(2) or "") > 2:
            raise ValueError(_("Enter an amount with at most 2 decimal places"))
        cents = int(whole.group(1)) * 100 + int((whole.group(2) or "").ljust(2, "0"))
        if cents > MAX_CENTS:
            raise ValueError(_("Enter an amount of at most %(most)s", most=cents_text(MAX_CENTS)))
        self.data = cents

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return cents_text(self.data)


def amount_required(message: LazyString):
    """A MoneyField that must hold an amount (0 counts)."""

    def check(form, field) -> None:
        if field.data is None and not field.process_errors:
            raise StopValidation(message)

    return check


def target_url(form, field) -> None:
    """An http(s) URL with a host whose addresses the service may call (public ones, unless
    ALLOW_PRIVATE_TARGETS), if given."""
    if field.data:
        problem = url_problem(field.data, current_app.config["ALLOW_PRIVATE_TARGETS"])
        if problem:
            raise ValidationError(problem[0].upper() + problem[1:])


class GestureTypeForm(FlaskForm):
    key = StringField(
        _l("Key"),
        filters=[clean_text],
        validators=[
            DataRequired(message=_l("Enter a key")),
            Length(max=100),
            Regexp(r"[a-z0-9_-]+\Z", message=_l("Use lower-case letters, digits, - and _ only")),
        ],
    )
    name = StringField(
        _l("Name"), filters=[clean_text], validators=[DataRequired(message=_l("Enter a name")),
                                                       Length(max=200)]
    )  # fmt: skip
    kind = SelectField(_l("Kind"), choices=choices_of(KIND_LABELS))
    offer = StringField(_l("Offer"), filters=[clean_text], validators=[Length(max=200)])
    value = MoneyField(_l("Value"), validators=[amount_required(_l("Enter a value, such as 0.00"))])
    cost = MoneyField(_l("Cost"), validators=[amount_required(_l("Enter a cost, such as 5.00"))])
    currency = StringField(
        _l("Currency"),
        filters=[lambda value: value.strip().upper() if isinstance(value, str) else value],
        validators=[
            DataRequired(message=_l("Enter a currency")),
            Regexp(r"[A-Z]{3}\Z", message=_l("Enter a three-letter currency code, such as USD")),
        ],
    )
    monthly_budget = MoneyField(_l("Monthly budget"), validators=[Optional()])
    low_codes = IntegerField(
        _l("Low-code alert level"),
        validators=[
            InputRequired(message=_l("Enter a number of codes")),
            NumberRange(0, 1_000_000),
        ],
    )
    webhook_url = StringField(
        _l("Webhook URL"), filters=[clean_text], validators=[Length(max=500), target_url]
    )
    assignee = StringField(_l("Assignee"), filters=[clean_text], validators=[Length(max=200)])
    due_hours = IntegerField(
        _l("Due in (hours)"),
        validators=[InputRequired(message=_l("Enter a number of hours")), NumberRange(1, 8760)],
    )
    active = BooleanField(_l("Active: rules may give it"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        fields = {"webhook_url": self.webhook_url, "value_cents": self.value,
                  "assignee": self.assignee}  # fmt: skip
        problems = gesture_problems(
            self.kind.data, self.value.data, self.webhook_url.data, self.assignee.data
        )
        for column, message in problems:
            fields[column].errors.append(message)
        return valid and not problems

    def offer_fields(self) -> list:
        """The offer's fields of the languages in use (the form has one for every language)."""
        return [self[f"offer_{language}"] for language in other_languages_in_use()]


for _language in OTHER_LANGUAGES:
    setattr(
        GestureTypeForm,
        f"offer_{_language}",
        StringField(
            _l("Offer in %(language)s", language=LazyString(language_name, _language)),
            filters=[clean_text],
            validators=[Length(max=200)],
        ),
    )


def gesture_form(gesture_type: GestureType | None, **kwargs) -> GestureTypeForm:
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


def save_gesture(form: GestureTypeForm, gesture_type: GestureType) -> None:
    gesture_type.name = form.name.data
    gesture_type.kind = form.kind.data
    gesture_type.offer = form.offer.data
    shown = other_languages_in_use()
    gesture_type.offer_translations = not_shown(gesture_type.offer_translations, shown) | {
        language: field.data
        for language, field in zip(shown, form.offer_fields(), strict=True)
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


class CodesForm(FlaskForm):
    codes = FileField(_l("CSV file of codes"))


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
        raise ValidationError(_("Enter at most %(most)s", most=MAX_WORDS))
    for item in field.data:
        if len(item) > MAX_TAG:
            raise ValidationError(
                _(
                    "“%(item)s…” is too long: at most %(most)s characters each",
                    item=item[:20],
                    most=MAX_TAG,
                )
            )


class TextListField(ListField):
    widget = TextAreaField.widget


class RuleForm(FlaskForm):
    name = StringField(
        _l("Name"), filters=[clean_text], validators=[DataRequired(message=_l("Enter a name")),
                                                       Length(max=200)]
    )  # fmt: skip
    reasons = MultiCheckboxField(_l("Reasons the customer picked"), choices={})
    priorities = MultiCheckboxField(
        _l("Case priorities"),
        choices=choices_of({p: PRIORITY_LABELS.get(p, p) for p in PRIORITIES}),
    )
    customer_tags = ListField(_l("Customer tags"), _comma_list, ", ", validators=[short_items])
    asked = TextListField(
        _l("Words in what they asked for"), _line_list, "\n", validators=[short_items]
    )
    gesture_type = SelectField(_l("Gesture"), choices={})
    active = BooleanField(_l("Active"))


def rule_form(rule: RecoveryRule | None) -> RuleForm:
    """The form of a rule, its choices the current surveys' reasons (and any the rule keeps)
    and the gesture types."""
    form = RuleForm(obj=rule if request.method == "GET" else None, active=True)
    reasons = reason_labels()
    kept = rule.reasons if rule else []
    form.reasons.choices = reasons | {code: code for code in kept if code not in reasons}
    gestures = gesture_names()
    form.gesture_type.choices = {"": _("None: apologise and check in only")} | {
        str(ident): name for ident, name in gestures.items()
    }
    if request.method == "GET" and rule is not None:
        form.gesture_type.data = str(rule.gesture_type_id or "")
    return form


def save_rule(form: RuleForm, rule: RecoveryRule) -> None:
    rule.name = form.name.data
    rule.reasons = list(form.reasons.data)
    rule.priorities = list(form.priorities.data)
    rule.customer_tags = list(form.customer_tags.data)
    rule.asked = list(form.asked.data)
    rule.gesture_type_id = int(form.gesture_type.data) if form.gesture_type.data else None
    rule.active = form.active.data
