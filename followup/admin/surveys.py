"""Console pages: surveys. The list (with the current cadences that use each), create
(CSAT, NPS or CES with its standard scale and bands), edit (question, bands, negative
keywords, reasons, extra questions and the text in each other language), archive and
unarchive, and a preview of the customer's page."""

import re
from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from babel import Locale
from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import refresh
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
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

from followup import audit
from followup.admin import bp, found
from followup.extensions import db
from followup.languages import LANGUAGES, translatable
from followup.models import Cadence, CadenceStep, Survey
from followup.models.base import utcnow
from followup.setup import CSAT_REASONS
from surveys.forms import DEFAULT_QUESTION, csat_form
from surveys.routes import local_date, render_survey, requested_score

# The standard scale, bands and question of each kind (models.surveys.SURVEY_KINDS). CES
# asks about effort: a low score (little effort) is the good one.
KINDS = {
    "csat": {
        "label": "CSAT: customer satisfaction, 1 to 5",
        "scale": (1, 5),
        "negative": (1, 2),
        "positive": (4, 5),
        "question": DEFAULT_QUESTION,
    },
    "nps": {
        "label": "NPS: net promoter score, 0 to 10",
        "scale": (0, 10),
        "negative": (0, 6),
        "positive": (9, 10),
        "question": translatable(
            "After how we handled {subject}, how likely are you to recommend us to a friend "
            "or colleague?"
        ),
    },
    "ces": {
        "label": "CES: customer effort score, 1 (very easy) to 7 (very difficult)",
        "scale": (1, 7),
        "negative": (5, 7),
        "positive": (1, 3),
        "question": translatable("How easy was it to get {subject} sorted out with us?"),
    },
}
# The kinds of extra question (models.surveys.QUESTION_KINDS).
QUESTION_KIND_LABELS = {"single": "Single choice", "multiple": "Multiple choice", "text": "Text"}

CODE = r"^[a-z0-9_-]+$"
CODE_MESSAGE = "use only lower-case letters, digits, - and _"
MAX_CODE = 50
MAX_LABEL = 200
MAX_QUESTION_LABEL = 500
MAX_REASONS = 20
MAX_QUESTIONS = 10
MAX_OPTIONS = 20
MAX_KEYWORDS = 50
MAX_KEYWORD = 100
BLANK_ROWS = 2  # empty rows offered below the reasons and questions
RESERVED_KEYS = {"make_right"}  # Response.answers keeps the "what would make this right?"
OTHER_LANGUAGES = tuple(language for language in LANGUAGES if language != "en")
AUDITED = (
    "key", "kind", "name", "question", "scale_min", "scale_max", "negative_min",
    "negative_max", "positive_min", "positive_max", "negative_keywords", "reasons",
    "questions", "translations", "archived_at",
)  # fmt: skip
SAMPLE_CASE = SimpleNamespace(subject="Parcel never arrived")


def language_name(language: str) -> str:
    return Locale.parse(language).get_display_name("en")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# The list, archive and unarchive


def _used_by() -> dict[int, list[str]]:
    """The names of the current cadence versions using each survey, by survey id."""
    rows = db.session.execute(
        sa.select(CadenceStep.survey_id, Cadence.name, Cadence.archived_at)
        .join(Cadence, Cadence.id == CadenceStep.cadence_id)
        .where(Cadence.superseded_at.is_(None), CadenceStep.survey_id.is_not(None))
        .distinct()
        .order_by(Cadence.name)
    )
    used: dict[int, list[str]] = {}
    for survey_id, name, archived_at in rows:
        used.setdefault(survey_id, []).append(f"{name} (archived)" if archived_at else name)
    return used


@bp.get("/surveys")
def surveys():
    rows = db.session.scalars(
        sa.select(Survey).order_by(Survey.archived_at.is_not(None), Survey.name, Survey.id)
    )
    return render_template("admin/surveys/list.html", surveys=list(rows), used_by=_used_by())


@bp.post("/surveys/<int:survey_id>/archive")
def surveys_archive(survey_id: int):
    survey = found(Survey, survey_id)
    in_use = db.session.scalars(
        sa.select(Cadence.name)
        .join(CadenceStep, CadenceStep.cadence_id == Cadence.id)
        .where(
            CadenceStep.survey_id == survey.id,
            Cadence.superseded_at.is_(None),
            Cadence.archived_at.is_(None),
        )
        .distinct()
    ).all()
    if in_use:
        flash(
            f"“{survey.name}” is not archived: the cadences {', '.join(sorted(in_use))} still "
            "send it. Choose another survey in them first."
        )
    elif survey.archived_at is None:
        before = audit.snapshot(survey, AUDITED)
        survey.archived_at = utcnow()
        audit.record(
            "archive", "survey", survey.id, f"Archived survey {survey.key}",
            before, audit.snapshot(survey, AUDITED),
        )  # fmt: skip
        db.session.commit()
        flash(f"“{survey.name}” is archived: links already sent keep working.")
    return redirect(url_for("admin.surveys"), code=303)


@bp.post("/surveys/<int:survey_id>/unarchive")
def surveys_unarchive(survey_id: int):
    survey = found(Survey, survey_id)
    if survey.archived_at is not None:
        before = audit.snapshot(survey, AUDITED)
        survey.archived_at = None
        audit.record(
            "unarchive", "survey", survey.id, f"Unarchived survey {survey.key}",
            before, audit.snapshot(survey, AUDITED),
        )  # fmt: skip
        db.session.commit()
        flash(f"“{survey.name}” is back: cadences can use it again.")
    return redirect(url_for("admin.surveys"), code=303)


# Create


class NewSurveyForm(FlaskForm):
    key = StringField(
        "Key",
        filters=[_strip],
        validators=[InputRequired(), Length(max=100), Regexp(CODE, message=CODE_MESSAGE)],
    )
    name = StringField("Name", filters=[_strip], validators=[InputRequired(), Length(max=200)])
    kind = RadioField(
        "Kind",
        choices={kind: spec["label"] for kind, spec in KINDS.items()},
        validators=[InputRequired(message="choose a kind")],
        invalid_choice_message="choose one of the kinds listed",
    )


@bp.route("/surveys/new", methods=["GET", "POST"])
def surveys_new():
    form = NewSurveyForm()
    if form.validate_on_submit():
        if db.session.scalar(sa.select(Survey.id).where(Survey.key == form.key.data)):
            form.key.errors.append("a survey with this key exists already")
        else:
            spec = KINDS[form.kind.data]
            survey = Survey(
                key=form.key.data,
                name=form.name.data,
                kind=form.kind.data,
                question=spec["question"],
                scale_min=spec["scale"][0],
                scale_max=spec["scale"][1],
                negative_min=spec["negative"][0],
                negative_max=spec["negative"][1],
                positive_min=spec["positive"][0],
                positive_max=spec["positive"][1],
                negative_keywords=[],
                reasons=[dict(reason) for reason in CSAT_REASONS],
                questions=[],
                translations={},
            )
            db.session.add(survey)
            try:
                db.session.flush()
                audit.record(
                    "create", "survey", survey.id, f"Created survey {survey.key}",
                    None, audit.snapshot(survey, AUDITED),
                )  # fmt: skip
                db.session.commit()
            except IntegrityError:  # the same key, created at the same moment
                db.session.rollback()
                form.key.errors.append("a survey with this key exists already")
            else:
                flash(f"“{survey.name}” is created. Check its question and reasons below.")
                return redirect(url_for("admin.surveys_edit", survey_id=survey.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/surveys/new.html", form=form, kinds=KINDS), status


# Edit


class SurveyForm(FlaskForm):
    """The editor's fixed fields; editor_form adds the rows of reasons and questions and
    the fields of each other language."""

    name = StringField("Name", filters=[_strip], validators=[InputRequired(), Length(max=200)])
    question = TextAreaField(
        "Question", filters=[_strip], validators=[InputRequired(), Length(max=500)]
    )
    negative_min = IntegerField("Negative from", validators=[InputRequired()])
    negative_max = IntegerField("Negative to", validators=[InputRequired()])
    positive_min = IntegerField("Positive from", validators=[InputRequired()])
    positive_max = IntegerField("Positive to", validators=[InputRequired()])
    negative_keywords = TextAreaField(
        "Negative keywords", validators=[Length(max=MAX_KEYWORDS * (MAX_KEYWORD + 2))]
    )

    survey: Survey
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
        lowest, highest = self.survey.scale_min, self.survey.scale_max
        bands = {}
        for f in (self.negative_min, self.negative_max, self.positive_min, self.positive_max):
            if not lowest <= f.data <= highest:
                f.errors.append(f"must be from {lowest} to {highest}")
            bands[f.name] = f.data
        if self.errors:
            return bands
        for low, high in ((self.negative_min, self.negative_max),
                          (self.positive_min, self.positive_max)):  # fmt: skip
            if low.data > high.data:
                high.errors.append(f"must not be below {low.label.text.lower()}")
        overlap = max(bands["negative_min"], bands["positive_min"]) <= min(
            bands["negative_max"], bands["positive_max"]
        )
        if overlap and not self.errors:
            self.positive_min.errors.append("the positive band must not overlap the negative one")
        return bands

    def _keywords(self) -> list[str]:
        keywords = list(dict.fromkeys(_lines(self.negative_keywords.data)))
        if len(keywords) > MAX_KEYWORDS:
            self.negative_keywords.errors.append(f"give at most {MAX_KEYWORDS} keywords")
        if any(len(keyword) > MAX_KEYWORD for keyword in keywords):
            self.negative_keywords.errors.append(
                f"keep each keyword to {MAX_KEYWORD} characters or fewer"
            )
        return keywords

    def _reasons(self) -> list[dict]:
        reasons, seen = [], set()
        for row in self.reason_rows:
            if not _filled(row):
                continue
            code, label = row["code"], row["label"]
            if not code.data:
                code.errors.append("give this reason a code")
            elif code.data in seen:
                code.errors.append(f"the code {code.data} is used by another reason")
            if not label.data:
                label.errors.append("give this reason a label")
            seen.add(code.data)
            reasons.append({"code": code.data, "label": label.data})
        if len(reasons) > MAX_REASONS:
            self.form_errors.append(f"A survey has at most {MAX_REASONS} reasons.")
        return reasons

    def _questions(self) -> list[dict]:
        questions, seen = [], set()
        for row in self.question_rows:
            if not _filled(row, ignore=("kind", "required")):
                continue
            key, label, options = row["key"], row["label"], _lines(row["options"].data)
            kind = row["kind"].data
            if not key.data:
                key.errors.append("give this question a key")
            elif key.data in RESERVED_KEYS:
                key.errors.append(f"{key.data} is kept for the reasons' own question")
            elif key.data in seen:
                key.errors.append(f"the key {key.data} is used by another question")
            seen.add(key.data)
            if not label.data:
                label.errors.append("give this question a label")
            _check_options(row["options"], options, kind)
            for language in OTHER_LANGUAGES:
                translated = _lines(row[f"options_{language}"].data)
                if translated and len(translated) != len(options):
                    row[f"options_{language}"].errors.append(
                        f"give one translation per option ({len(options)}), or none"
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
            self.form_errors.append(f"A survey has at most {MAX_QUESTIONS} extra questions.")
        return questions

    def _translations(self) -> dict:
        """{"es": {"question": ..., "reasons": {code: label}, "questions": {key: {"label",
        "options"}}}}, leaving out what was left blank."""
        translations = {}
        for language in OTHER_LANGUAGES:
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


def _check_options(field: Field, options: list[str], kind: str) -> None:
    if kind == "text":
        if options:
            field.errors.append("a text question has no options: leave them empty")
        return
    if len(options) < 2:
        field.errors.append("give at least 2 options, one per line")
    elif len(options) > MAX_OPTIONS:
        field.errors.append(f"give at most {MAX_OPTIONS} options")
    elif len(set(options)) != len(options):
        field.errors.append("each option must be different")
    if any(len(option) > MAX_LABEL for option in options):
        field.errors.append(f"keep each option to {MAX_LABEL} characters or fewer")


def _row_count(prefix: str, stored: int, most: int) -> int:
    """Rows of a list: on a POST as many as were sent (up to a bound), else the stored ones
    and a few blank ones."""
    if request.method == "POST":
        pattern = re.compile(rf"^{prefix}_(\d{{1,3}})_")
        sent = [int(m.group(1)) for name in request.form if (m := pattern.match(name))]
        return min(max(sent, default=-1) + 1, 5 * most)
    return max(stored, min(stored + BLANK_ROWS, most))


def _reason_fields(index: int) -> dict[str, Field]:
    n = index + 1
    fields = {
        "code": StringField(
            f"Reason {n}: code",
            filters=[_strip],
            validators=[Optional(), Length(max=MAX_CODE), Regexp(CODE, message=CODE_MESSAGE)],
        ),
        "label": StringField(
            f"Reason {n}: label", filters=[_strip], validators=[Length(max=MAX_LABEL)]
        ),
    }
    for language in OTHER_LANGUAGES:
        fields[f"label_{language}"] = StringField(
            f"Reason {n}: label in {language_name(language)}",
            filters=[_strip],
            validators=[Length(max=MAX_LABEL)],
        )
    return fields


def _question_fields(index: int) -> dict[str, Field]:
    n = index + 1
    options_size = Length(max=MAX_OPTIONS * (MAX_LABEL + 2))
    fields = {
        "kind": SelectField(
            f"Question {n}: kind",
            choices=QUESTION_KIND_LABELS,
            default="single",
            invalid_choice_message="choose single choice, multiple choice or text",
        ),
        "key": StringField(
            f"Question {n}: key",
            filters=[_strip],
            validators=[Optional(), Length(max=MAX_CODE), Regexp(CODE, message=CODE_MESSAGE)],
        ),
        "label": StringField(
            f"Question {n}: label", filters=[_strip], validators=[Length(max=MAX_QUESTION_LABEL)]
        ),
        "options": TextAreaField(f"Question {n}: options", validators=[options_size]),
        "required": BooleanField(f"Question {n}: an answer is required"),
    }
    for language in OTHER_LANGUAGES:
        name = language_name(language)
        fields[f"label_{language}"] = StringField(
            f"Question {n}: label in {name}",
            filters=[_strip],
            validators=[Length(max=MAX_QUESTION_LABEL)],
        )
        fields[f"options_{language}"] = TextAreaField(
            f"Question {n}: options in {name}", validators=[options_size]
        )
    return fields


def _stored(survey: Survey) -> dict:
    """The editor's data of a survey, field by field."""
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
    for language in OTHER_LANGUAGES:
        data[f"question_{language}"] = translations.get(language, {}).get("question", "")
    for index, reason in enumerate(survey.reasons or []):
        data[f"reason_{index}_code"] = reason["code"]
        data[f"reason_{index}_label"] = reason["label"]
        for language in OTHER_LANGUAGES:
            labels = translations.get(language, {}).get("reasons", {})
            data[f"reason_{index}_label_{language}"] = labels.get(reason["code"], "")
    for index, question in enumerate(survey.questions or []):
        prefix = f"extra_{index}_"
        data |= {prefix + name: question.get(name) for name in ("kind", "key", "label")}
        data[prefix + "options"] = "\n".join(question.get("options") or [])
        data[prefix + "required"] = bool(question.get("required"))
        for language in OTHER_LANGUAGES:
            text = translations.get(language, {}).get("questions", {}).get(question["key"], {})
            data[f"{prefix}label_{language}"] = text.get("label", "")
            data[f"{prefix}options_{language}"] = "\n".join(text.get("options") or [])
    return data


def editor_form(survey: Survey) -> SurveyForm:
    """The editor of a survey: on a GET filled from the row, on a POST from the request."""
    reasons = _row_count("reason", len(survey.reasons or []), MAX_REASONS)
    questions = _row_count("extra", len(survey.questions or []), MAX_QUESTIONS)
    form_class = type("SurveyEditor", (SurveyForm,), {})
    for language in OTHER_LANGUAGES:
        setattr(
            form_class,
            f"question_{language}",
            TextAreaField(
                f"Question in {language_name(language)}",
                filters=[_strip],
                validators=[Length(max=500)],
            ),
        )
    rows = {"reason": [], "extra": []}
    for prefix, count, make in (("reason", reasons, _reason_fields),
                                ("extra", questions, _question_fields)):  # fmt: skip
        for index in range(count):
            names = {}
            for name, unbound in make(index).items():
                setattr(form_class, f"{prefix}_{index}_{name}", unbound)
                names[name] = f"{prefix}_{index}_{name}"
            rows[prefix].append(names)
    if request.method == "POST":
        form = form_class()
    else:
        form = form_class(formdata=None, data=_stored(survey))
    form.survey = survey
    form.reason_rows = [{k: form[v] for k, v in row.items()} for row in rows["reason"]]
    form.question_rows = [{k: form[v] for k, v in row.items()} for row in rows["extra"]]
    return form


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
def surveys_edit(survey_id: int):
    survey = found(Survey, survey_id)
    form = editor_form(survey)
    if request.method == "POST" and form.validate():
        before = audit.snapshot(survey, AUDITED)
        for name, value in form.values.items():
            setattr(survey, name, value)
        after = audit.snapshot(survey, AUDITED)
        if before != after:
            audit.record("update", "survey", survey.id, f"Edited survey {survey.key}",
                         before, after)  # fmt: skip
            db.session.commit()
            flash(f"“{survey.name}” is saved.")
        else:
            flash("Nothing changed.")
        return redirect(url_for("admin.surveys_edit", survey_id=survey.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/surveys/edit.html",
        form=form,
        survey=survey,
        kind=KINDS.get(survey.kind, KINDS["csat"]),
        max_questions=MAX_QUESTIONS,
        languages={language: language_name(language) for language in LANGUAGES},
        other_languages={language: language_name(language) for language in OTHER_LANGUAGES},
        used_by=_used_by().get(survey.id, []),
    ), status


# Preview


@bp.get("/surveys/<int:survey_id>/preview")
def surveys_preview(survey_id: int):
    """The customer's page of this survey on a sample case, in ?language= and with ?score=
    chosen; its form sends nothing."""
    survey = found(Survey, survey_id)
    language = request.args.get("language", "en")
    g.customer_locale = language if language in LANGUAGES else "en"
    refresh()
    score = requested_score(survey)
    form = csat_form(
        survey, g.customer_locale, formdata=None, data={} if score is None else {"score": score}
    )
    window = timedelta(days=current_app.config["SURVEY_WINDOW_DAYS"])
    expires_on = local_date(utcnow() + window, None)
    return render_survey(survey, SAMPLE_CASE, form, token=None, expires_on=expires_on)
