"""An agent's own view (/dashboard/agents/<user id>): their figures (the dashboard's, filtered
to the agent names of their cases) beside their team's, their customers' verbatims (comments
on their cases, newest first, paged) and their kudos. Agents open their own page only (another
agent's is a 403) and nothing else of the dashboard; managers, leads and admins open any
agent's page and the list of agents (/dashboard/agents)."""

from dataclasses import replace

import sqlalchemy as sa
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from followup import agents, figures
from followup.dashboard import bp
from followup.dashboard.cells import n, pct, small_badge
from followup.dashboard.filters import PRESETS, Filters, parse
from followup.extensions import db
from followup.metrics import SMALL_SAMPLE
from followup.models import Case, Kudo, Response, Survey, User
from followup.models.base import MAX_ID, utcnow
from followup.models.figures import COUNTERS
from followup.users import can
from followup.web.console import needs
from followup.web.pages import paged

VERBATIMS_PAGE = 20
RECENT_KUDOS = 10
MAX_TEAMS = 3  # teams shown beside the agent's figures


def _may_open(user: User) -> None:
    """403 unless the signed-in user may open this agent's page."""
    if agents.is_agent(current_user):
        if current_user.id != user.id:
            abort(403)
    elif not can(current_user, "read"):
        abort(403)


def _agent(user_id: int) -> User:
    user = db.session.get(User, user_id) if 1 <= user_id <= MAX_ID else None
    if user is None or not agents.is_agent(user):
        # An agent learns nothing of who else exists: every other id is a 403 for them.
        abort(403 if agents.is_agent(current_user) else 404)
    return user


def _figures(filters: Filters, names: tuple[str, ...]) -> dict:
    """The headline figures of these agent names (added up) this period and the one before."""
    now, before = dict.fromkeys(COUNTERS, 0), dict.fromkeys(COUNTERS, 0)
    for name in names:
        narrowed = replace(filters, agent=name, team="")
        for into, period in ((now, narrowed), (before, narrowed.previous())):
            for key, value in figures.sums(period)[""][""].items():
                into[key] += value
    medians: tuple[float | None, float | None] = (None, None)
    if len(names) == 1:
        medians = figures.median_recovery_seconds(replace(filters, agent=names[0], team=""))
    return {
        "sums": now,
        "headline": figures.headline(now, medians[0]),
        "previous": figures.headline(before, medians[1]),
    }


def _team_figures(filters: Filters, team: str) -> dict:
    narrowed = replace(filters, agent="", team=team)
    medians = figures.median_recovery_seconds(narrowed)
    sums = figures.sums(narrowed)[""][""]
    return {"team": team, "sums": sums, "headline": figures.headline(sums, medians[0])}


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
    if not agents.is_agent(current_user) and not can(current_user, "read"):
        abort(403)
    user = _agent(user_id)
    _may_open(user)
    filters = parse(request.args, utcnow().date())
    filters = Filters(start=filters.start, end=filters.end)  # their own, nothing narrower
    scope = agents.cases_of(user)
    own = _figures(filters, scope.names)
    teams = [_team_figures(filters, team) for team in scope.teams[:MAX_TEAMS]]
    link = user.agent or ""
    verbatims = paged(
        sa.select(Response)
        .join(Case, Case.id == Response.case_id)
        .where(agents.case_clause(link), Response.comment != "")
        if link
        else sa.select(Response).where(sa.false()),
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
