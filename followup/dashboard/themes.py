"""Dashboard: comment themes (/dashboard/themes). Per theme, the comments that came in the
period, the share of them negative (with its denominator), the count in the period of the
same length before, the change and a "rising" mark (the page states the rule:
followup.theme_figures.RISING_MIN and RISING_FACTOR), the theme's telling words and three
example comments; the comments in no theme yet as a row of their own. Each theme drills down
to its comments in the period (/dashboard/themes/<id>, paged, newest first, with their score,
case and language), and both the table and a theme's comments export as CSV.

Leads (the "configure" ability) rename, merge and split a theme from its page: POSTs with
CSRF that call followup.themes (which checks, audits and flushes), committed here; a refusal
shows the page again with the message and its 4xx status. Managers, leads and admins read;
agents get a 403 (a comment names its customer's problem: not an agent's to browse)."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from followup import root_causes, theme_figures, themes
from followup.dashboard import bp, queries
from followup.dashboard.cells import n, pct, small_badge
from followup.dashboard.filters import PRESETS, FilterError, Filters, parse
from followup.extensions import db
from followup.languages import spoken_language, translatable
from followup.models import Response, Theme
from followup.models.base import row_id, utcnow
from followup.text import clean_text, is_text
from followup.web.console import needs
from followup.web.csv_files import csv_lines, in_chunks, streamed
from followup.web.pages import found, page_count, page_number, when
from surveys.scoring import is_negative, verdict

PAGE_SIZE = 50
MAX_NAME = themes.MAX_NAME
EXPIRED = _l("This form has expired. Please check it and send it again.")
UNASSIGNED = "unassigned"  # ?theme= of the comments export: those in no theme yet
THEME_COLUMNS = ("theme", "theme id", "status", "telling words", "comments", "previous period",
                 "change", "change %", "negative", "negative %", "rising", "examples")  # fmt: skip
COMMENT_COLUMNS = ("theme", "theme id", "case", "answered at", "score", "verdict", "comment",
                   "channel", "language", "team", "agent", "survey id",
                   "recovery check-in")  # fmt: skip


def ignored(filters: Filters) -> list[str]:
    """The dashboard filters set in the URL that the themes do not apply."""
    return [name for name in theme_figures.IGNORED_FILTERS if getattr(filters, name)]


def read_filters(args: MultiDict) -> Filters:
    return parse(args, utcnow().date())


# -- the table ------------------------------------------------------------------------------


@bp.get("/themes")
def themes_page():
    filters = read_filters(request.args)
    figures = theme_figures.figures(filters)
    return render_template(
        "dashboard/themes.html",
        filters=filters,
        period=request.args.get("period", ""),
        presets=PRESETS,
        figures=figures,
        options=queries.options(filters),
        ignored=ignored(filters),
        rising_min=theme_figures.RISING_MIN,
        rising_factor=theme_figures.RISING_FACTOR,
        n=n,
        pct=pct,
        small_badge=small_badge,
        change=change_text,
    )


def change_text(row: theme_figures.ThemeRow) -> str:
    """The change against the previous period in words: "+12 (+150%)", "new", "same"."""
    if row.change == 0:
        return _("same")
    if not row.previous:
        return _("new")
    share = f" ({row.change_share:+.0%})" if row.change_share is not None else ""
    return f"{row.change:+,}{share}"


@bp.get("/export/themes.csv")
def export_themes():
    filters = read_filters(request.args)
    figures = theme_figures.figures(filters)

    def rows():
        for row in [*figures.themes, figures.unassigned]:
            yield (
                row.name, row.theme_id, row.status if row.theme_id else "", " ".join(row.words),
                row.comments, row.previous, row.change,
                "" if row.change_share is None else round(100 * row.change_share, 1),
                row.negative.numerator,
                "" if row.negative.value is None else round(100 * row.negative.value, 1),
                row.rising, " | ".join(example.comment for example in row.examples),
            )  # fmt: skip

    filename = f"themes-{filters.start}-to-{filters.end}.csv"
    return streamed(filename, csv_lines(THEME_COLUMNS, rows()))


# -- a theme's comments ---------------------------------------------------------------------


class RenameForm(FlaskForm):
    name = StringField(
        _l("New name"),
        filters=[clean_text],
        validators=[
            DataRequired(message=_l("Enter a name")),
            Length(
                max=MAX_NAME,
                message=_l("Keep the name to %(count)s characters or fewer", count=MAX_NAME),
            ),
        ],
    )


class MergeForm(FlaskForm):
    target = SelectField(_l("Merge into"), choices={}, validate_choice=False)


class SplitForm(FlaskForm):
    pass


@dataclass
class Forms:
    rename: RenameForm
    merge: MergeForm
    split: SplitForm


def _forms(theme: Theme | None, **given) -> Forms:
    forms = Forms(
        rename=given.get("rename") or RenameForm(formdata=None, data={"name": theme.name}
                                                 if theme else {}),
        merge=given.get("merge") or MergeForm(formdata=None),
        split=given.get("split") or SplitForm(formdata=None),
    )  # fmt: skip
    if theme is not None:
        forms.merge.target.choices = _targets(theme)
    return forms


def _targets(theme: Theme) -> dict[str, str]:
    """The live themes this one may merge into, by name."""
    found = db.session.execute(
        sa.select(Theme.id, Theme.name)
        .where(Theme.id != theme.id, Theme.retired_at.is_(None), Theme.merged_into_id.is_(None))
        .order_by(Theme.name, Theme.id)
    ).all()
    return {str(theme_id): name for theme_id, name in found}


def _comments_page(theme: Theme | None, filters: Filters, forms: Forms | None = None,
                   problem: str = "", status: int = 200):  # fmt: skip
    query = theme_figures.comments_query(filters, theme.id if theme else None)
    total = root_causes.count_of(query)
    pages = page_count(total, PAGE_SIZE)
    page = page_number(request.args.get("page"), pages)
    rows = db.session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    surveys = theme_figures.surveys()
    shown = [
        (response, case, spoken_language(locale), team, agent,
         (survey := surveys.get(response.survey_id)) is not None
         and is_negative(survey, response.score, response.comment))
        for response, case, locale, team, agent in rows
    ]  # fmt: skip
    examples = []
    related = {}
    if theme is not None:
        ids = [int(i) for i in (theme.examples or [])][: theme_figures.EXAMPLES]
        found = dict(db.session.execute(sa.select(Response.id, Response.comment).where(
            Response.id.in_(ids))).all()) if ids else {}  # fmt: skip
        examples = [found[i] for i in ids if (found.get(i) or "").strip()]
        linked = {theme.merged_into_id, theme.split_from_id} - {None}
        related = {t.id: t for t in db.session.scalars(sa.select(Theme).where(
            sa.or_(Theme.id.in_(linked), Theme.split_from_id == theme.id)))}  # fmt: skip
    return render_template(
        "dashboard/theme.html",
        theme=theme,
        status=theme.status if theme else "",
        related=related,
        parts=[t for t in related.values() if theme and t.split_from_id == theme.id],
        examples=examples,
        filters=filters,
        period=request.args.get("period", ""),
        presets=PRESETS,
        rows=shown,
        total=total,
        page=page,
        pages=pages,
        ignored=ignored(filters),
        forms=forms or _forms(theme),
        problem=problem,
        when=when,
    ), status


@bp.get("/themes/<int:theme_id>")
def theme_page(theme_id: int):
    theme = found(Theme, theme_id)
    return _comments_page(theme, read_filters(request.args))


@bp.get("/themes/unassigned")
def unassigned_page():
    return _comments_page(None, read_filters(request.args))


def _comment_theme(args: MultiDict) -> Theme | None:
    """?theme= of the comments export: a theme's id or "unassigned"; FilterError otherwise,
    404 for an id no theme has."""
    raw = (args.get("theme") or "").strip()
    if raw == UNASSIGNED:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise FilterError("theme", translatable("a theme's number, or unassigned"))
    return found(Theme, int(raw))


@bp.get("/export/theme-comments.csv")
def export_theme_comments():
    theme = _comment_theme(request.args)
    filters = read_filters(request.args)
    query = theme_figures.comments_query(filters, theme.id if theme else None)
    surveys = theme_figures.surveys()
    name = theme.name if theme else "(not in a theme yet)"

    def shape(response: Response, case: str, locale, team, agent) -> tuple:
        survey = surveys.get(response.survey_id)
        said = "" if survey is None else verdict(survey, response.score, response.comment)
        return (name, theme.id if theme else "", case, response.created_at, response.score,
                said, response.comment, response.channel, spoken_language(locale), team, agent,
                response.survey_id, response.recovery_id is not None)  # fmt: skip

    which = str(theme.id) if theme else UNASSIGNED
    filename = f"theme-{which}-comments-{filters.start}-to-{filters.end}.csv"
    return streamed(filename, csv_lines(COMMENT_COLUMNS, in_chunks(query, shape)))


# -- a lead's changes -----------------------------------------------------------------------


def _refused(theme: Theme, filters: Filters, error: Exception, forms: Forms):
    db.session.rollback()
    status = getattr(error, "status", 422)
    return _comments_page(db.session.get(Theme, theme.id), filters, forms,
                          getattr(error, "message", str(error)), status)  # fmt: skip


def _back(theme: Theme, filters: Filters):
    return redirect(url_for("dashboard.theme_page", theme_id=theme.id, **filters.query()), 303)


@bp.post("/themes/<int:theme_id>/rename")
@needs("configure")
def theme_rename(theme_id: int):
    theme = found(Theme, theme_id)
    filters = read_filters(request.args)
    form = RenameForm()
    valid = form.validate_on_submit()
    if valid and not is_text(form.name.data or ""):
        valid, form.name.errors = False, [_("The name holds a character that is not text")]
    if not valid:
        problem = next(iter(form.name.errors), "") or EXPIRED
        return _comments_page(theme, filters, _forms(theme, rename=form), problem, 422)
    try:
        themes.rename(theme, form.name.data, current_user.email)
    except themes.ThemeError as error:
        return _refused(theme, filters, error, _forms(theme, rename=form))
    db.session.commit()
    flash(_("Theme renamed “%(name)s”: the name stays through the nightly rebuilds.",
            name=theme.name))  # fmt: skip
    return _back(theme, filters)


@bp.post("/themes/<int:theme_id>/merge")
@needs("configure")
def theme_merge(theme_id: int):
    theme = found(Theme, theme_id)
    filters = read_filters(request.args)
    form = MergeForm()
    raw = form.target.data.strip() if isinstance(form.target.data, str) else ""
    problem = ""
    if not form.validate_on_submit():
        problem = EXPIRED
    elif (target_id := row_id(raw)) is None:
        problem = _("Choose the theme to merge into")
    target = None if problem else db.session.get(Theme, target_id)
    if not problem and target is None:
        problem = _("There is no such theme: choose one on the list")
    if problem:
        form.target.errors = [problem]
        return _comments_page(theme, filters, _forms(theme, merge=form), problem, 422)
    try:
        themes.merge(theme, target, current_user.email)
    except themes.ThemeError as error:
        return _refused(theme, filters, error, _forms(theme, merge=form))
    db.session.commit()
    flash(_("“%(name)s” merged into “%(target)s”: its comments are there now, and the rebuilds "
            "keep them together.", name=theme.name, target=target.name))  # fmt: skip
    return _back(target, filters)


@bp.post("/themes/<int:theme_id>/split")
@needs("configure")
def theme_split(theme_id: int):
    theme = found(Theme, theme_id)
    filters = read_filters(request.args)
    form = SplitForm()
    if not form.validate_on_submit():
        return _comments_page(theme, filters, _forms(theme, split=form), EXPIRED, 422)
    try:
        parts = themes.split(theme, current_user.email)
    except themes.ThemeError as error:
        return _refused(theme, filters, error, _forms(theme, split=form))
    first, second = parts
    db.session.commit()
    flash(_("“%(name)s” split into “%(first)s” and “%(second)s”.", name=theme.name,
            first=first.name, second=second.name))  # fmt: skip
    return _back(theme, filters)
