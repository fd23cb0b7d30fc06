"""The WTForms form of a CSAT answer, its choices built from the Survey row."""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from followup.models import Survey

MAX_TEXT = 2000

# Labels of the 1-5 CSAT scale; other scales label only their two ends.
CSAT_LABELS = {
    1: _l("Very dissatisfied"),
    2: _l("Dissatisfied"),
    3: _l("Neither satisfied nor dissatisfied"),
    4: _l("Satisfied"),
    5: _l("Very satisfied"),
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
    labels[survey.scale_min] = _l("Least likely") if survey.kind == "nps" else _l("Lowest")
    labels[survey.scale_max] = _l("Most likely") if survey.kind == "nps" else _l("Highest")
    return labels


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
        filters=[_clean_text],
        validators=[
            Optional(),
            Length(
                max=MAX_TEXT,
                message=_l("Please keep this to %(count)s characters or fewer.", count=MAX_TEXT),
            ),
        ],
    )
    comment = TextAreaField(
        _l("Anything else you would like to tell us?"),
        filters=[_clean_text],
        validators=[
            Optional(),
            Length(
                max=MAX_TEXT,
                message=_l("Please keep this to %(count)s characters or fewer.", count=MAX_TEXT),
            ),
        ],
    )


def csat_form(survey: Survey, **kwargs) -> CsatForm:
    """A CsatForm whose score and reason choices come from the survey.

    Keyword arguments go to the form (formdata, data, ...); by default a POST's form data
    is read from the request.
    """
    form = CsatForm(**kwargs)
    form.score.choices = {
        str(score): str(label or score) for score, label in score_labels(survey).items()
    }
    form.reasons.choices = {
        # A lead's own wording has no catalog entry and shows as written.
        str(reason["code"]): gettext(str(reason.get("label") or reason["code"]))
        for reason in survey.reasons or []
    }
    return form
