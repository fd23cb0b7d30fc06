"""The survey page, shared by the public page (/s/<token>) and the console's preview: the
WTForms form of an answer (the score, the reasons of a negative answer and the survey's extra
questions), the survey's customer-facing text in a language, and the page's rendering."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import render_template, request
from flask_babel import format_date, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation

from followup.languages import page_language
from followup.models import Survey
from followup.models.surveys import SurveyKind
from followup.web.forms import MultiCheckboxField, RadioField, TextAreaField, clean_text
from surveys.kinds import DEFAULT_QUESTION
from surveys.responses import MAX_TEXT

# Labels of the 1-5 CSAT scale; other scales label only their two ends.
CSAT_LABELS = {
    1: _l("Very dissatisfied"),
    2: _l("Dissatisfied"),
    3: _l("Neither satisfied nor dissatisfied"),
    4: _l("Satisfied"),
    5: _l("Very satisfied"),
}
# (lowest, highest) by kind: NPS asks how likely, CES how easy (1 is the least effort).
END_LABELS = {
    "nps": (_l("Least likely"), _l("Most likely")),
    "ces": (_l("Very easy"), _l("Very difficult")),
}


def _too_long() -> Length:
    return Length(
        max=MAX_TEXT,
        message=_l("Please keep this to %(count)s characters or fewer.", count=MAX_TEXT),
    )


def score_labels(survey: Survey) -> dict[int, str]:
    """The label of each score of the survey's scale, lowest first."""
    scores = range(survey.scale_min, survey.scale_max + 1)
    if (survey.scale_min, survey.scale_max) == (1, 5) and survey.kind == SurveyKind.CSAT:
        return {score: CSAT_LABELS[score] for score in scores}
    labels = {score: "" for score in scores}
    lowest, highest = END_LABELS.get(survey.kind, (_l("Lowest"), _l("Highest")))
    labels[survey.scale_min], labels[survey.scale_max] = lowest, highest
    return labels


def survey_text(survey: Survey, language: str) -> dict:
    """What the customer reads, in a language: the lead's translation in
    Survey.translations where there is one, else the catalog's translation of the default
    wording (a lead's own wording has no catalog entry and shows as written).

    {"question": str, "reasons": {code: label}, "questions": [{"key", "kind", "label",
    "required", "options": {value: label}}]}; an option's value is its default wording.
    """
    own = (survey.translations or {}).get(language) or {}
    reasons = own.get("reasons") or {}
    questions = own.get("questions") or {}
    extra = []
    for question in survey.questions or []:
        translated = questions.get(question["key"]) or {}
        options = question.get("options") or []
        # A translation has one label per option (the editor checks); any missing: as written.
        given = list(translated.get("options") or [])
        labels = [given[i] if i < len(given) and given[i] else v for i, v in enumerate(options)]
        extra.append(
            {
                **question,
                "label": translated.get("label") or question["label"],
                "options": dict(zip(options, labels, strict=True)),
            }
        )
    return {
        "question": own.get("question") or gettext(survey.question or DEFAULT_QUESTION),
        "reasons": {
            str(reason["code"]): reasons.get(reason["code"])
            or gettext(str(reason.get("label") or reason["code"]))
            for reason in survey.reasons or []
        },
        "questions": extra,
    }


def _unanswered(_form, field: Field) -> None:
    """An optional choice question may go unanswered (nothing sent); whatever is sent must be
    among its options (wtforms' Optional would also wave through a blank value, and every
    value sent after it, unchecked)."""
    if not field.raw_data:
        field.errors.clear()
        raise StopValidation()


def _extra_field(question: dict) -> Field:
    """The form field of an extra question: radios, checkboxes or a text box."""
    label = question["label"]
    missing = gettext("Please answer: %(question)s", question=label)
    wrong = gettext("Please choose from the answers listed.")
    if question["kind"] == "text":
        first = DataRequired(message=missing) if question.get("required") else Optional()
        return TextAreaField(label, filters=[clean_text], validators=[first, _too_long()])
    kind = RadioField if question["kind"] == "single" else MultiCheckboxField
    first = InputRequired(message=missing) if question.get("required") else _unanswered
    return kind(
        label,
        choices={str(value): str(text) for value, text in question["options"].items()},
        validators=[first],
        invalid_choice_message=wrong,
    )


class CsatForm(FlaskForm):
    score = RadioField(
        _l("Your score"),
        coerce=int,
        validators=[InputRequired(message=_l("Please choose a score."))],
        invalid_choice_message=_l("Please choose a score."),
        invalid_value_message=_l("Please choose a score."),
    )
    reasons = MultiCheckboxField(
        _l("What went wrong?"),
        invalid_choice_message=_l("Please choose from the reasons listed."),
    )
    make_right = TextAreaField(
        _l("What would make this right?"),
        filters=[clean_text],
        validators=[Optional(), _too_long()],
    )
    comment = TextAreaField(
        _l("Anything else you would like to tell us?"),
        filters=[clean_text],
        validators=[Optional(), _too_long()],
    )

    # Set by csat_form: the survey's text (survey_text), its extra questions as
    # [(question, its field)] and its score labels (score_labels, in the page's language).
    text: dict
    extra: list[tuple[dict, Field]]
    labels: dict[int, str]

    def answers(self) -> dict:
        """Response.answers: "make_right" and each extra question answered, by its key."""
        answers = {"make_right": self.make_right.data} if self.make_right.data else {}
        for question, field in self.extra:
            if field.data:
                answers[question["key"]] = field.data
        return answers


# What a form of a survey in a language needs that is the same on every page: its form class
# (with the extra questions' fields), its text, its score choices and labels. Keyed by every
# column they are made from, so a survey edited in the console keys a new entry at its next
# page; a few hundred entries at most (the oldest half goes when it is full).
_FORMS: dict[tuple, tuple] = {}
_FORMS_MAX = 256


def _survey_key(survey: Survey, language: str) -> tuple:
    """Everything survey_text, score_labels and the extra fields read, and the languages (the
    one asked and the page's, whose catalog translates the default wording)."""
    content = json.dumps(
        [survey.question, survey.reasons, survey.questions, survey.translations],
        sort_keys=True,
        default=str,
    )
    return (language, page_language(), survey.kind, survey.scale_min, survey.scale_max, content)


def _survey_form_parts(survey: Survey, language: str) -> tuple:
    """(form class, text, score choices, score labels) of the survey in the language."""
    key = _survey_key(survey, language)
    parts = _FORMS.get(key)
    if parts is None:
        text = survey_text(survey, language)
        form_class = type("SurveyAnswerForm", (CsatForm,), {})
        for index, question in enumerate(text["questions"]):
            setattr(form_class, f"extra_{index}", _extra_field(question))
        labels = {score: str(label) for score, label in score_labels(survey).items()}
        choices = {str(score): label or str(score) for score, label in labels.items()}
        parts = (form_class, text, choices, labels)
        if len(_FORMS) >= _FORMS_MAX:
            for old in list(_FORMS)[: _FORMS_MAX // 2]:
                _FORMS.pop(old, None)
        _FORMS[key] = parts
    return parts


def csat_form(survey: Survey, language: str, **kwargs) -> CsatForm:
    """A CsatForm whose score, reasons and extra questions come from the survey, its text in
    the language.

    Keyword arguments go to the form (formdata, data, ...); by default a POST's form data
    is read from the request. An answer's extra questions are in data["answers"].
    """
    form_class, text, choices, labels = _survey_form_parts(survey, language)
    if "data" in kwargs:
        data = dict(kwargs["data"])
        answers = data.pop("answers", None) or {}
        for index, question in enumerate(text["questions"]):
            if question["key"] in answers:
                data[f"extra_{index}"] = answers[question["key"]]
        kwargs["data"] = data
    form = form_class(**kwargs)
    form.score.choices = dict(choices)
    form.reasons.choices = dict(text["reasons"])
    form.extra = [(q, form[f"extra_{i}"]) for i, q in enumerate(text["questions"])]
    form.text = text
    form.labels = labels
    return form


def local_date(moment: datetime, timezone: str | None) -> str:
    """A date such as "March 14, 2026" or "14 de marzo de 2026", in the customer's time zone
    when it is known."""
    try:
        moment = moment.astimezone(ZoneInfo(timezone)) if timezone else moment
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return format_date(moment.date(), "long")


def requested_score(survey: Survey) -> int | None:
    """The ?score=N of a one-click link, when it is a whole number on the scale."""
    raw = request.args.get("score", "")
    if not raw.isascii() or not raw.isdigit():
        return None
    score = int(raw)
    return score if survey.scale_min <= score <= survey.scale_max else None


def render_survey(
    survey: Survey,
    case,
    form: CsatForm,
    *,
    token: str | None,
    response=None,
    expires_on: str,
    status: int = 200,
) -> tuple[str, int]:
    """The survey page of a case; without a token it is the console's preview, whose form
    sends nothing."""
    return render_template(
        "surveys/survey.html",
        token=token,
        form=form,
        survey=survey,
        question=form.text["question"],
        case=case,
        response=response,
        labels=form.labels,
        expires_on=expires_on,
    ), status
