"""An agent's own view (/dashboard/agents/<user id>): the dashboard's figures filtered to the
agent names of their cases (headline figures against the period before, the weekly trends,
the reasons for negative answers: one query each for all their names, agent IN (...)) beside
their teams', their customers' verbatims of the period (comments on their cases, newest
first, paged) and their kudos. No agent breakdown, no other agent's names and, for an agent,
no link to a page they may not open. Agents open their own page only (another agent's is a
403) and nothing else of the dashboard; managers, leads and admins open any agent's page and
the list of agents (/dashboard/agents)."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from followup import agents, figures
from followup.dashboard import bp
from followup.dashboard.cells import Cells, n, pct, small_badge
from followup.dashboard.filters import PRESETS, Filters, parse
from followup.dashboard.routes import mark_incidents
from followup.extensions import db
from followup.languages import translatable
from followup.metrics import SMALL_SAMPLE
from followup.models import Case, Kudo, Response, Survey, User
from followup.models.base import MAX_ID, utcnow
from followup.users import can
from followup.web.console import needs
from followup.web.pages import paged

VERBATIMS_PAGE = 20
RECENT_KUDOS = 10
MAX_TEAMS = 3  # teams shown beside the agent's figures
TREND_KEYS = (  # the page translates the labels
    ("csat", translatable("CSAT")),
    ("response", translatable("Response rate")),
    ("recovery", translatable("Recovery rate")),
)


def _page_user(user_id: int) -> User:
    """The agent whose page this is, when the signed-in user may open it: an agent their own
    only (every other id is a 403: an agent learns nothing of who else exists); a reader
    (managers, leads, admins) any agent's (404 for an id that is not an agent)."""
    if agents.is_agent(current_user):
        if user_id != current_user.id:
            abort(403)
        return current_user._get_current_object()
    if not can(current_user, "read"):
        abort(403)
    user = db.session.get(User, user_id) if 1 <= user_id <= MAX_ID else None
    if user is None or not agents.is_agent(user):
        abort(404)
    return user


def _own_figures(filters: Filters, names: tuple[str, ...], labels: dict[str, str]) -> dict:
    """The dashboard's figures of these agent names together (agent IN (...)): the headline
    this period and the one before, the weekly trends and the reasons."""
    narrowed = replace(filters, agents=names)
    shown = figures.period_headline(narrowed)
    shown["trends"] = figures.trends(narrowed)
    mark_incidents(filters, shown["trends"])  # weeks an incident held surveys: a dip explained
    shown["reasons"] = figures.reasons(narrowed, "negative", True, labels)
    return shown


def _team_figures(filters: Filters, team: str, labels: dict[str, str]) -> dict:
    """A team's figures this period, for comparison: headline, trends, reasons' counts."""
    narrowed = replace(filters, team=team)
    sums = figures.sums(narrowed)[""][""]
    medians = figures.median_recovery_seconds(narrowed)
    named = figures.reasons(narrowed, "negative", True, labels)
    trends = figures.trends(narrowed)
    mark_incidents(narrowed, trends)
    return {
        "team": team,
        "sums": sums,
        "headline": figures.headline(sums, medians[0]),
        "trends": trends,
        "reasons": {row["reason"]: row["negative"] for row in named},
    }


def _period(filters: Filters) -> tuple[datetime, datetime]:
    """The period's days as UTC instants [start, end): the rollups' days are UTC dates."""
    return (datetime.combine(filters.start, time(), UTC),
            datetime.combine(filters.end + timedelta(days=1), time(), UTC))  # fmt: skip


@bp.get("/agents")
@needs("signed_in")
def agents_list():
    if agents.is_agent(current_user):
        return redirect(url_for("dashboard.agent_page", user_id=current_user.id), code=303)
    if not can(current_user, "read"):
        abort(403)
    return render_template("dashboard/agents.html", agent_users=agents.agent_users())


@bp.get("/agents/<int:user_id>")
@needs("signed_in")
def agent_page(user_id: int):
    user = _page_user(user_id)
    parsed = parse(request.args, utcnow().date())
    filters = Filters(start=parsed.start, end=parsed.end)  # their own, nothing narrower
    scope = agents.cases_of(user)
    labels = figures.reason_labels()
    own = _own_figures(filters, scope.names, labels)
    teams = [_team_figures(filters, team, labels) for team in scope.teams[:MAX_TEAMS]]
    link = user.agent or ""
    since, until = _period(filters)
    verbatims = paged(
        sa.select(Response).where(
            Response.case_id.in_(agents.case_ids(link)) if link else sa.false(),
            Response.comment != "",
            Response.created_at >= since,
            Response.created_at < until,
        ),
        (Response.created_at.desc(), Response.id.desc()),
        VERBATIMS_PAGE,
        request.args.get("page"),
    )
    cases = {
        case.id: case
        for case in db.session.scalars(
            sa.select(Case).where(Case.id.in_({r.case_id for r in verbatims.rows}))
        )
    }
    surveys = {
        survey.id: survey
        for survey in db.session.scalars(
            sa.select(Survey).where(Survey.id.in_({r.survey_id for r in verbatims.rows}))
        )
    }
    recent = db.session.execute(
        sa.select(Kudo, Case.external_id)
        .join(Case, Case.id == Kudo.case_id)
        .where(agents.case_clause(link, Kudo) if link else sa.false())
        .order_by(Kudo.created_at.desc(), Kudo.id.desc())
        .limit(RECENT_KUDOS)
    ).all()
    # A reader may follow the figures into the dashboard (an agent may not: a 403 there).
    reader = can(current_user, "read")
    dashboard_link = (
        url_for("dashboard.index", **filters.query(agent=scope.names[0]))
        if reader and len(scope.names) == 1
        else None
    )
    return render_template(
        "dashboard/agent.html",
        agent=user,
        scope=scope,
        filters=filters,
        period=request.args.get("period", ""),
        presets=PRESETS,
        own=own,
        teams=teams,
        headlines=figures.HEADLINES,
        trend_keys=TREND_KEYS,
        cells=Cells(lambda metric, **changes: ""),  # trend rows only: they link nowhere
        dashboard_link=dashboard_link,
        reader=reader,
        verbatims=verbatims,
        cases=cases,
        surveys=surveys,
        kudos=recent,
        small_sample=SMALL_SAMPLE,
        pager_args={"user_id": user.id, **filters.query()},
        n=n,
        pct=pct,
        small_badge=small_badge,
    )
