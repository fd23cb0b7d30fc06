"""The survey page keeps what is the same on every page of a survey in a language (its form
class, its text, its score labels) between requests: a survey edited in the console shows its
new question, reasons and extra questions at the next page, each language its own, and the
faster widgets make exactly the markup WTForms' own make."""

import re

import pytest
import wtforms
from flask_babel import force_locale
from flask_wtf import FlaskForm
from wtforms.validators import InputRequired, Length, Optional

from followup.extensions import db
from followup.models import Survey
from followup.web import forms, survey_page
from tests.support.answers import set_locale
from tests.support.answers import survey_page as page
from tests.support.console import form_of


def edit(client, survey_id: int, **changes):
    """Post the survey's editor as the page fills it, with these fields changed."""
    path = f"/admin/surveys/{survey_id}"
    return client.post(path, data={**form_of(client, path), **changes})


def test_a_survey_edited_in_the_console_shows_its_new_wording_at_the_next_page(
    as_lead, survey_case
):
    token = survey_case["token"]
    before = page(as_lead, token)
    assert 'name="extra_0"' not in before
    survey_id = survey_case["survey"].id
    reply = edit(
        as_lead,
        survey_id,
        question="Was {subject} sorted out?",
        reason_0_code="slow",
        reason_0_label="Far too slow",
        extra_0_kind="single",
        extra_0_key="rebuy",
        extra_0_label="Would you buy again?",
        extra_0_options="Yes\nNo\n",
        extra_0_required="y",
    )
    assert reply.status_code == 303
    after = page(as_lead, token)
    assert "Was &ldquo;" in after and "sorted out?" in after
    assert "Far too slow" in after
    assert "Would you buy again?" in after
    assert re.findall(r'<input[^>]*name="extra_0"[^>]*value="([^"]+)"', after) == ["Yes", "No"]
    # The question is asked of the form too: an answer without it is refused.
    token_field = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', after)
    assert token_field
    refused = as_lead.post(f"/s/{token}", data={"csrf_token": token_field[1], "score": "4"})
    assert refused.status_code == 422
    assert "Please answer: Would you buy again?" in refused.get_data(as_text=True)
    # Edited back: the first page's wording again.
    assert (
        edit(as_lead, survey_id, extra_0_key="", extra_0_label="", extra_0_options="").status_code
        == 303
    )
    assert 'name="extra_0"' not in page(as_lead, token)


def test_each_language_has_its_own_form(app, survey_case):
    survey = db.session.get(Survey, survey_case["survey"].id)

    def form_in(language: str):
        with app.test_request_context("/"), force_locale(language):
            form = survey_page.csat_form(survey, language, formdata=None)
            return form.labels, dict(form.reasons.choices), form.text["question"]

    english = form_in("en")
    spanish = form_in("es")
    assert english[0][5] == "Very satisfied" and spanish[0][5] == "Muy satisfecho"
    assert english[1] != spanish[1] and english[2] != spanish[2]
    assert form_in("en") == english and form_in("es") == spanish


def test_a_customer_s_language_is_their_page_s(client, survey_case):
    set_locale("es")
    spanish = page(client, survey_case["token"])
    assert '<html lang="es" dir="ltr">' in spanish and "Muy satisfecho" in spanish
    assert "Very satisfied" not in spanish


def test_a_survey_changed_in_the_database_is_seen_without_a_restart(client, survey_case):
    token = survey_case["token"]
    assert "Rebuy?" not in page(client, token)
    survey = db.session.get(Survey, survey_case["survey"].id)
    survey.questions = [
        {"key": "rebuy", "kind": "single", "label": "Rebuy?", "options": ["Yes", "No"],
         "required": False},
    ]  # fmt: skip
    db.session.commit()
    assert "Rebuy?" in page(client, token)
    survey.questions = [{**survey.questions[0], "label": "Again?"}]
    db.session.commit()
    html = page(client, token)
    assert "Again?" in html and "Rebuy?" not in html


def test_the_cache_keeps_at_most_its_size(app, survey_case, monkeypatch):
    monkeypatch.setattr(survey_page, "_FORMS", {})
    monkeypatch.setattr(survey_page, "_FORMS_MAX", 4)
    survey = db.session.get(Survey, survey_case["survey"].id)
    with app.test_request_context("/"):
        for number in range(10):
            survey.question = f"Question {number}"
            form = survey_page.csat_form(survey, "en", formdata=None)
            assert form.text["question"] == f"Question {number}"
            assert len(survey_page._FORMS) <= 4
    db.session.rollback()


class StockForm(FlaskForm):
    class Meta:
        csrf = False

    score = wtforms.RadioField("Score", choices={"1": "One", "2": 'T"wo <b>'},
                               validators=[InputRequired()])  # fmt: skip
    reasons = wtforms.SelectMultipleField(
        "Reasons", choices={"a": "A & a", "b": "B"},
        widget=wtforms.widgets.ListWidget(prefix_label=False),
        option_widget=wtforms.widgets.CheckboxInput(),
    )  # fmt: skip
    comment = wtforms.TextAreaField("Comment <i>", validators=[Optional(), Length(max=9)])


class FastForm(FlaskForm):
    class Meta:
        csrf = False

    score = forms.RadioField("Score", choices={"1": "One", "2": 'T"wo <b>'},
                             validators=[InputRequired()])  # fmt: skip
    reasons = forms.MultiCheckboxField("Reasons", choices={"a": "A & a", "b": "B"})
    comment = forms.TextAreaField("Comment <i>", validators=[Optional(), Length(max=9)])


@pytest.mark.parametrize(
    "data",
    [{}, {"score": "2", "reasons": ["a", "b"], "comment": 'Hi "there" <script>\x00'},
     {"score": "1", "reasons": ["b"], "comment": ""}],
)  # fmt: skip
def test_the_fast_fields_render_exactly_as_wtforms(app, data):
    with app.test_request_context("/"):
        stock, fast = StockForm(formdata=None, data=data), FastForm(formdata=None, data=data)
        for name in ("score", "reasons", "comment"):
            assert fast[name].type == stock[name].type or name == "reasons"
            assert str(fast[name]()) == str(stock[name]())
            assert str(fast[name](rows=4, aria_describedby="x-hint", class_="a")) == str(
                stock[name](rows=4, aria_describedby="x-hint", class_="a")
            )
            assert str(fast[name].label) == str(stock[name].label)
        assert 'maxlength="9"' in str(fast.comment())
        for stock_option, fast_option in zip(stock.score, fast.score, strict=True):
            assert str(fast_option()) == str(stock_option())
            assert str(fast_option.label) == str(stock_option.label)
            assert str(fast_option.label("Other", class_="x")) == str(
                stock_option.label("Other", class_="x")
            )
        for stock_option, fast_option in zip(stock.reasons, fast.reasons, strict=True):
            assert str(fast_option()) == str(stock_option())
            assert str(fast_option(disabled=True)) == str(stock_option(disabled=True))
            assert str(fast_option.label) == str(stock_option.label)
