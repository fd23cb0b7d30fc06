"""The comment themes' figures for a period (followup.themes groups the comments): per theme,
the comments that came in the period (by when the answer came: Response.created_at) and in
the period of the same length before it, the share of them negative (the answer's verdict by
its survey's bands and negative keywords, surveys.scoring: the dashboard's negativity), the
change and whether the theme is rising; the comments in no theme yet counted as a row of
their own, and the comments of the period still waiting to be embedded. The dashboard's
themes page (followup.dashboard.themes) and the "theme rising" alert rule
(followup.alert_rules) both read `figures`, so their numbers agree by construction.

The filters applied are the period, team, agent (the case's), channel (the one the customer
answered on) and survey; cadence and reason are not (a comment is an answer's, and its
round's cadence is not kept on the answer). Counting is a GROUP BY over the embeddings
joined to their answers, by theme, survey and score; Python applies the survey's bands, and
reads the comments themselves only for the surveys with negative keywords."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from followup import themes as theming
from followup.extensions import db
from followup.figures import Filters
from followup.metrics import Rate
from followup.models import Case, CommentEmbedding, Customer, Response, Survey, Theme
from followup.models.base import moment, utcnow
from followup.models.themes import ThemeStatus
from surveys.scoring import mentions

# A theme is rising when its comments in the period are at least RISING_MIN and at least
# RISING_FACTOR times those of the previous period (or it had none then).
RISING_MIN = 5
RISING_FACTOR = 2
EXAMPLES = 3
IGNORED_FILTERS = ("cadence", "reason")


def rising(comments: int, previous: int, factor: float = RISING_FACTOR,
           least: int = RISING_MIN) -> bool:  # fmt: skip
    """Whether `comments` (this period) against `previous` (the one before) is a rise: at
    least `least` of them and at least `factor` times the previous count (or none before)."""
    return comments >= max(least, 1) and comments >= factor * previous


@dataclass(frozen=True)
class Example:
    response_id: int
    comment: str


@dataclass
class ThemeRow:
    """One theme's figures (theme_id None: the comments in no theme yet)."""

    theme_id: int | None
    name: str
    words: list[str]
    comments: int
    previous: int
    negative: Rate  # negative comments of the period, of `comments`
    status: str = ThemeStatus.LIVE  # the theme's Theme.status
    examples: list[Example] = field(default_factory=list)

    @property
    def change(self) -> int:
        return self.comments - self.previous

    @property
    def change_share(self) -> float | None:
        """The change as a share of the previous count; None without a previous count."""
        return self.change / self.previous if self.previous else None

    @property
    def rising(self) -> bool:
        return self.theme_id is not None and rising(self.comments, self.previous)

    @property
    def retired(self) -> bool:
        return self.status != ThemeStatus.LIVE


@dataclass
class Figures:
    themes: list[ThemeRow]  # the most comments first (then the most before, then by name)
    unassigned: ThemeRow  # the comments in no theme yet
    comments: int  # embedded comments of the period, in a theme or not
    previous: int
    waiting: int  # comments of the period not embedded yet (the workers will)
    window_start: date  # comments answered before this day are not grouped (THEMES_DAYS)


def days(start: date, end: date) -> tuple[datetime, datetime]:
    """From the start of `start` to the end of `end` (UTC days, included)."""
    return moment(start), moment(end + timedelta(days=1))


def scoped(
    query: sa.Select,
    filters: Filters,
    span: tuple[datetime, datetime],
    case_joined: bool = False,
) -> sa.Select:
    """The query (over Response) narrowed to the answers that came in the span (from its
    start, before its end) and the filters' team, agent(s), channel and survey; it joins the
    answers' cases for the team and agent filters unless `case_joined` says it has."""
    query = query.where(Response.created_at >= span[0], Response.created_at < span[1])
    if filters.team or filters.agent or filters.agents is not None:
        if not case_joined:
            query = query.join(Case, Case.id == Response.case_id)
        if filters.team:
            query = query.where(Case.team == filters.team)
        if filters.agent:
            query = query.where(Case.agent_name == filters.agent)
        if filters.agents is not None:
            query = query.where(Case.agent_name.in_(filters.agents))
    if filters.channel:
        query = query.where(Response.channel == filters.channel)
    if filters.survey_id:
        query = query.where(Response.survey_id == filters.survey_id)
    return query


def surveys() -> dict[int, Survey]:
    return {survey.id: survey for survey in db.session.scalars(sa.select(Survey))}


def figures(filters: Filters, with_examples: bool = True,
            span: tuple[datetime, datetime] | None = None) -> Figures:  # fmt: skip
    """The themes' figures for the filters' period (or `span`, from a time to a time: the
    alert's last 7 days to now) and the one of the same length before it."""
    span = span or days(filters.start, filters.end)
    both = (span[0] - (span[1] - span[0]), span[1])
    in_period = Response.created_at >= span[0]
    grouped = scoped(
        sa.select(in_period.label("now"), CommentEmbedding.theme_id, Response.survey_id,
                  Response.score, sa.func.count().label("n"))
        .select_from(CommentEmbedding)
        .join(Response, Response.id == CommentEmbedding.response_id),
        filters, both,
    )  # fmt: skip
    grouped = grouped.group_by(
        in_period, CommentEmbedding.theme_id, Response.survey_id, Response.score
    )
    by_survey = surveys()
    counts: dict[int | None, list[int]] = {}  # theme: [comments, previous, negative]
    for now, theme_id, survey_id, score, n in db.session.execute(grouped):
        into = counts.setdefault(theme_id, [0, 0, 0])
        if not now:
            into[1] += n
            continue
        into[0] += n
        survey = by_survey.get(survey_id)
        if survey is not None and survey.negative_min <= score <= survey.negative_max:
            into[2] += n
    keyworded = [s.id for s in by_survey.values() if any(w.strip() for w in
                                                            s.negative_keywords or [])]  # fmt: skip
    if keyworded:  # a comment naming a negative keyword is negative whatever its score
        outside = scoped(
            sa.select(CommentEmbedding.theme_id, Response.survey_id, Response.comment)
            .select_from(CommentEmbedding)
            .join(Response, Response.id == CommentEmbedding.response_id)
            .join(Survey, Survey.id == Response.survey_id)
            .where(Response.survey_id.in_(keyworded),
                   sa.not_(Response.score.between(Survey.negative_min, Survey.negative_max))),
            filters, span,
        )  # fmt: skip
        for theme_id, survey_id, comment in db.session.execute(outside):
            if mentions(comment, by_survey[survey_id].negative_keywords or []):
                counts[theme_id][2] += 1
    themes = {
        theme.id: theme
        for theme in db.session.scalars(
            sa.select(Theme).where(Theme.id.in_([k for k in counts if k is not None]))
        )
    }
    rows = []
    for theme_id, (now, before, negative) in counts.items():
        if theme_id is None or theme_id not in themes:
            continue
        theme = themes[theme_id]
        rows.append(ThemeRow(theme_id, theme.name, list(theme.words or []), now, before,
                             Rate(negative, now), theme.status))  # fmt: skip
    rows.sort(key=lambda r: (-r.comments, -r.previous, r.name.lower(), r.theme_id))
    if with_examples:
        add_examples(rows, themes)
    loose = counts.get(None, [0, 0, 0])
    unassigned = ThemeRow(None, "Not in a theme yet", [], loose[0], loose[1],
                          Rate(loose[2], loose[0]))  # fmt: skip
    return Figures(
        themes=rows,
        unassigned=unassigned,
        comments=sum(c[0] for c in counts.values()),
        previous=sum(c[1] for c in counts.values()),
        waiting=waiting(filters, span),
        window_start=theming.window_start(utcnow()).date(),
    )


def add_examples(rows: list[ThemeRow], themes: dict[int, Theme]) -> None:
    """Each row's theme's examples (the comments nearest its centroid), those still with a
    comment (an erased one is blank: never shown), in one query."""
    wanted: dict[int | None, list[int]] = {}
    for row in rows:
        if row.theme_id is not None:
            wanted[row.theme_id] = [int(i) for i in themes[row.theme_id].examples or []][:EXAMPLES]
    ids = {i for found in wanted.values() for i in found}
    if not ids:
        return
    comments = dict(
        db.session.execute(
            sa.select(Response.id, Response.comment).where(Response.id.in_(ids),
                                                           Response.comment != "")
        ).all()
    )  # fmt: skip
    for row in rows:
        row.examples = [Example(i, comments[i]) for i in wanted.get(row.theme_id, [])
                        if comments.get(i, "").strip()]  # fmt: skip


def waiting(filters: Filters, span: tuple[datetime, datetime]) -> int:
    """The span's answers whose comment the workers will embed (themes.unembedded: not
    blank, in the themes' window, of a case not redacted) and have not yet."""
    query = scoped(
        sa.select(sa.func.count())
        .select_from(Response)
        .outerjoin(CommentEmbedding, CommentEmbedding.response_id == Response.id)
        .where(theming.unembedded(utcnow())),
        filters, span,
    )  # fmt: skip
    return db.session.scalar(query) or 0


def comments_query(filters: Filters, theme_id: int | None) -> sa.Select:
    """The comments of a theme (None: in no theme) that came in the period, newest first:
    rows of (Response, case external id, customer locale, team, agent)."""
    query = scoped(
        sa.select(Response, Case.external_id, Customer.locale, Case.team, Case.agent_name)
        .select_from(CommentEmbedding)
        .join(Response, Response.id == CommentEmbedding.response_id)
        .join(Case, Case.id == Response.case_id)
        .join(Customer, Customer.id == Case.customer_id)
        .where(CommentEmbedding.theme_id.is_(None) if theme_id is None
               else CommentEmbedding.theme_id == theme_id),
        filters, days(filters.start, filters.end), case_joined=True,
    )  # fmt: skip
    return query.order_by(Response.created_at.desc(), Response.id.desc())
