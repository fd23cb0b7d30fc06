"""The WTForms form of a CSAT answer, its choices built from the Survey row."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from followup.models import Survey

MAX_TEXT = 2000

# Labels of the 1-5 CSAT scale; other scales label only their two ends.
CSAT_LABELS = {
    1: "Very dissatisfied",
    2: "Dissatisfied",
    3: "Neither satisfied nor dissatisfied",
    4: "Satisfied",
    5: "Very satisfied",
}


# Control characters other than line breaks and tabs: no column keeps NUL, none is meant.
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\r\t") | {0x7F: None}


def _clean_text(value: str | None) -> str | None:
    return value.translate(_CONTROL).strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice rendered as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def score_labels(survey: Survey) -> dict[int, str]:
    """The label of each score of the survey's scale, lowest first."""
    scores = range(survey.scale_min, survey.scale_max + 1)
    if (survey.scale_min, survey.scale_max) == (1, 5):
        return {score: CSAT_LABELS[score] for score in scores}
    labels = {score: "" for score in scores}
    labels[survey.scale_min] = "Least likely" if survey.kind == "nps" else "Lowest"
    labels[survey.scale_max] = "Most likely" if survey.kind == "nps" else "Highest"
    return labels


class CsatForm(FlaskForm):
    score = RadioField(
        "Your score",
        coerce=int,
        validators=[InputRequired(message="Please choose a score.")],
        invalid_choice_message="Please choose a score.",
        invalid_value_message="Please choose a score.",
    )
    reasons = MultiCheckboxField(
        "What went wrong?",
        invalid_choice_message="Please choose from the reasons listed.",
    )
    make_right = TextAreaField(
        "What would make this right?",
        filters=[_clean_text],
        validators=[
            Optional(),
            Length(max=MAX_TEXT, message=f"Please keep this to {MAX_TEXT} characters or fewer."),
        ],
    )
    comment = TextAreaField(
        "Anything else you would like to tell us?",
        filters=[_clean_text],
        validators=[
            Optional(),
            Length(max=MAX_TEXT, message=f"Please keep this to {MAX_TEXT} characters or fewer."),
        ],
    )


def csat_form(survey: Survey, **kwargs) -> CsatForm:
    """A CsatForm whose score and reason choices come from the survey.

    Keyword arguments go to the form (formdata, data, ...); by default a POST's form data
    is read from the request.
    """
    form = CsatForm(**kwargs)
    form.score.choices = {
        str(score): label or str(score) for score, label in score_labels(survey).items()
    }
    form.reasons.choices = {
        str(reason["code"]): str(reason.get("label") or reason["code"])
        for reason in survey.reasons or []
    }
    return form
