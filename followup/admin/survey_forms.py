"""The survey pages' WTForms forms: a new survey (key, name, kind) and the editor (question,
bands, negative keywords, rows of reasons and extra questions, and the text in each other
language), with the rules of surveys.editing applied to its fields."""

import re

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, Regexp

from followup.languages import language_name, not_shown, other_languages_in_use
from followup.models import Survey
from followup.web.forms import choices_of
from surveys.editing import (
    BANDS,
    MAX_KEYWORD,
    MAX_KEYWORDS,
    MAX_LABEL,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    MAX_REASONS,
    RESERVED_KEYS,
    band_problems,
    keyword_problems,
    option_problems,
)
from surveys.kinds import KINDS

# The kinds of extra question (models.surveys.QUESTION_KINDS).
QUESTION_KIND_LABELS = {
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice"),
    "text": _l("Text"),
}

CODE = r"^[a-z0-9_-]+$"
CODE_MESSAGE = _l("use only lower-case letters, digits, - and _")
MAX_CODE = 50
MAX_QUESTION_LABEL = 500
BLANK_ROWS = 2  # empty rows offered below the reasons and questions


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class NewSurveyForm(FlaskForm):
    key = StringField(
        _l("Key"),
        filters=[_strip],
        validators=[InputRequired(), Length(max=100), Regexp(CODE, message=CODE_MESSAGE)],
    )
    name = StringField(_l("Name"), filters=[_strip], validators=[InputRequired(), Length(max=200)])
    kind = RadioField(
        _l("Kind"),
        # the labels are in the catalogs (surveys.kinds marks them)
        choices=choices_of({kind: _l(spec["label"]) for kind, spec in KINDS.items()}),
        validators=[InputRequired(message=_l("choose a kind"))],
        invalid_choice_message=_l("choose one of the kinds listed"),
    )


class SurveyForm(FlaskForm):
    """The editor's fixed fields; editor_form adds the rows of reasons and questions and
    the fields of each other language."""

    name = StringField(_l("Name"), filters=[_strip], validators=[InputRequired(), Length(max=200)])
    question = TextAreaField(
        _l("Question"), filters=[_strip], validators=[InputRequired(), Length(max=500)]
    )
    negative_min = IntegerField(_l("Negative from"), validators=[InputRequired()])
    negative_max = IntegerField(_l("Negative to"), validators=[InputRequired()])
    positive_min = IntegerField(_l("Positive from"), validators=[InputRequired()])
    positive_max = IntegerField(_l("Positive to"), validators=[InputRequired()])
    negative_keywords = TextAreaField(
        _l("Negative keywords"), validators=[Length(max=MAX_KEYWORDS * (MAX_KEYWORD + 2))]
    )

    survey: Survey
    languages: tuple[str, ...]  # the other languages in use, shown beside English
    reason_rows: list[dict]
    question_rows: list[dict]
    values: dict  # what to store, once valid

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        self.values = {
            "name": self.name.data,
            "question": self.question.data,
            **self._bands(),
            "negative_keywords": self._keywords(),
            "reasons": self._reasons(),
            "questions": self._questions(),
        }
        self.values["translations"] = self._translations()
        return not self.errors

    def _bands(self) -> dict:
        bands = {name: self[name].data for name in BANDS}
        for name, message in band_problems(self.survey.scale_min, self.survey.scale_max, bands):
            self[name].errors.append(message)
        return bands

    def _keywords(self) -> list[str]:
        keywords = list(dict.fromkeys(_lines(self.negative_keywords.data)))
        self.negative_keywords.errors.extend(keyword_problems(keywords))
        return keywords

    def _reasons(self) -> list[dict]:
        reasons, seen = [], set()
        for row in self.reason_rows:
            if not _filled(row):
                continue
            code, label = row["code"], row["label"]
            if not code.data:
                code.errors.append(_("give this reason a code"))
            elif code.data in seen:
                code.errors.append(_("the code %(code)s is used by another reason", code=code.data))
            if not label.data:
                label.errors.append(_("give this reason a label"))
            seen.add(code.data)
            reasons.append({"code": code.data, "label": label.data})
        if len(reasons) > MAX_REASONS:
            self.form_errors.append(_("A survey has at most %(most)s reasons.", most=MAX_REASONS))
        return reasons

    def _questions(self) -> list[dict]:
        questions, seen = [], set()
        for row in self.question_rows:
            if not _filled(row, ignore=("kind", "required")):
                continue
            key, label, options = row["key"], row["label"], _lines(row["options"].data)
            kind = row["kind"].data
            if not key.data:
                key.errors.append(_("give this question a key"))
            elif key.data in RESERVED_KEYS:
                key.errors.append(_("%(key)s is kept for the reasons' own question", key=key.data))
            elif key.data in seen:
                key.errors.append(_("the key %(key)s is used by another question", key=key.data))
            seen.add(key.data)
            if not label.data:
                label.errors.append(_("give this question a label"))
            row["options"].errors.extend(option_problems(options, kind))
            for language in self.languages:
                translated = _lines(row[f"options_{language}"].data)
                if translated and len(translated) != len(options):
                    row[f"options_{language}"].errors.append(
                        _(
                            "give one translation per option (%(count)s), or none",
                            count=len(options),
                        )
                    )
            questions.append(
                {
                    "key": key.data,
                    "kind": kind,
                    "label": label.data,
                    "options": options,
                    "required": bool(row["required"].data),
                }
            )
        if len(questions) > MAX_QUESTIONS:
            self.form_errors.append(
                _("A survey has at most %(most)s extra questions.", most=MAX_QUESTIONS)
            )
        return questions

    def _translations(self) -> dict:
        """{"es": {"question": ..., "reasons": {code: label}, "questions": {key: {"label",
        "options"}}}}, leaving out what was left blank; the stored text of a language not
        in use now (not shown) is kept as it is."""
        translations = not_shown(self.survey.translations, self.languages)
        for language in self.languages:
            text: dict = {}
            if question := self[f"question_{language}"].data:
                text["question"] = question
            reasons = {
                row["code"].data: row[f"label_{language}"].data
                for row in self.reason_rows
                if row["code"].data and row[f"label_{language}"].data
            }
            questions = {}
            for row in self.question_rows:
                label = row[f"label_{language}"].data
                options = _lines(row[f"options_{language}"].data)
                if row["key"].data and (label or options):
                    questions[row["key"].data] = {"label": label, "options": options}
            if reasons:
                text["reasons"] = reasons
            if questions:
                text["questions"] = questions
            if text:
                translations[language] = text
        return translations


def _filled(row: dict, ignore: tuple[str, ...] = ()) -> bool:
    return any(f.data for name, f in row.items() if name not in ignore)


def _row_count(prefix: str, stored: int, most: int) -> int:
    """Rows of a list: on a POST as many as were sent (up to a bound), else the stored ones
    and a few blank ones."""
    if request.method == "POST":
        pattern = re.compile(rf"^{prefix}_(\d{{1,3}})_")
        sent = [int(m.group(1)) for name in request.form if (m := pattern.match(name))]
        return min(max(sent, default=-1) + 1, 5 * most)
    return max(stored, min(stored + BLANK_ROWS, most))


def _reason_fields(index: int, languages: tuple[str, ...]) -> dict[str, Field]:
    n = index + 1
    fields = {
        "code": StringField(
            _("Reason %(number)s: code", number=n),
            filters=[_strip],
            validators=[Optional(), Length(max=MAX_CODE), Regexp(CODE, message=CODE_MESSAGE)],
        ),
        "label": StringField(
            _("Reason %(number)s: label", number=n),
            filters=[_strip],
            validators=[Length(max=MAX_LABEL)],
        ),
    }
    for language in languages:
        fields[f"label_{language}"] = StringField(
            _(
                "Reason %(number)s: label in %(language)s",
                number=n,
                language=language_name(language),
            ),
            filters=[_strip],
            validators=[Length(max=MAX_LABEL)],
        )
    return fields


def _question_fields(index: int, languages: tuple[str, ...]) -> dict[str, Field]:
    n = index + 1
    options_size = Length(max=MAX_OPTIONS * (MAX_LABEL + 2))
    fields = {
        "kind": SelectField(
            _("Question %(number)s: kind", number=n),
            choices=choices_of(QUESTION_KIND_LABELS),
            default="single",
            invalid_choice_message=_("choose single choice, multiple choice or text"),
        ),
        "key": StringField(
            _("Question %(number)s: key", number=n),
            filters=[_strip],
            validators=[Optional(), Length(max=MAX_CODE), Regexp(CODE, message=CODE_MESSAGE)],
        ),
        "label": StringField(
            _("Question %(number)s: label", number=n),
            filters=[_strip],
            validators=[Length(max=MAX_QUESTION_LABEL)],
        ),
        "options": TextAreaField(
            _("Question %(number)s: options", number=n), validators=[options_size]
        ),
        "required": BooleanField(_("Question %(number)s: an answer is required", number=n)),
    }
    for language in languages:
        name = language_name(language)
        fields[f"label_{language}"] = StringField(
            _("Question %(number)s: label in %(language)s", number=n, language=name),
            filters=[_strip],
            validators=[Length(max=MAX_QUESTION_LABEL)],
        )
        fields[f"options_{language}"] = TextAreaField(
            _("Question %(number)s: options in %(language)s", number=n, language=name),
            validators=[options_size],
        )
    return fields


def _stored(survey: Survey, languages: tuple[str, ...]) -> dict:
    """The editor's data of a survey, field by field, in English and these languages."""
    data = {
        "name": survey.name,
        "question": survey.question,
        "negative_min": survey.negative_min,
        "negative_max": survey.negative_max,
        "positive_min": survey.positive_min,
        "positive_max": survey.positive_max,
        "negative_keywords": "\n".join(survey.negative_keywords or []),
    }
    translations = survey.translations or {}
    for language in languages:
        data[f"question_{language}"] = translations.get(language, {}).get("question", "")
    for index, reason in enumerate(survey.reasons or []):
        data[f"reason_{index}_code"] = reason["code"]
        data[f"reason_{index}_label"] = reason["label"]
        for language in languages:
            labels = translations.get(language, {}).get("reasons", {})
            data[f"reason_{index}_label_{language}"] = labels.get(reason["code"], "")
    for index, question in enumerate(survey.questions or []):
        prefix = f"extra_{index}_"
        data |= {prefix + name: question.get(name) for name in ("kind", "key", "label")}
        data[prefix + "options"] = "\n".join(question.get("options") or [])
        data[prefix + "required"] = bool(question.get("required"))
        for language in languages:
            text = translations.get(language, {}).get("questions", {}).get(question["key"], {})
            data[f"{prefix}label_{language}"] = text.get("label", "")
            data[f"{prefix}options_{language}"] = "\n".join(text.get("options") or [])
    return data


def editor_form(survey: Survey) -> SurveyForm:
    """The editor of a survey (English and the other languages in use): on a GET filled
    from the row, on a POST from the request."""
    languages = other_languages_in_use()
    reasons = _row_count("reason", len(survey.reasons or []), MAX_REASONS)
    questions = _row_count("extra", len(survey.questions or []), MAX_QUESTIONS)
    form_class = type("SurveyEditor", (SurveyForm,), {})
    for language in languages:
        setattr(
            form_class,
            f"question_{language}",
            TextAreaField(
                _("Question in %(language)s", language=language_name(language)),
                filters=[_strip],
                validators=[Length(max=500)],
            ),
        )
    rows = {"reason": [], "extra": []}
    for prefix, count, make in (("reason", reasons, _reason_fields),
                                ("extra", questions, _question_fields)):  # fmt: skip
        for index in range(count):
            names = {}
            for name, unbound in make(index, languages).items():
                setattr(form_class, f"{prefix}_{index}_{name}", unbound)
                names[name] = f"{prefix}_{index}_{name}"
            rows[prefix].append(names)
    if request.method == "POST":
        form = form_class()
    else:
        form = form_class(formdata=None, data=_stored(survey, languages))
    form.survey = survey
    form.languages = languages
    form.reason_rows = [{k: form[v] for k, v in row.items()} for row in rows["reason"]]
    form.question_rows = [{k: form[v] for k, v in row.items()} for row in rows["extra"]]
    return form
