"""The team's kudos feed (/dashboard/kudos): newest first, paged, by team, starred only; a lead
(and an admin) stars one to share it with the team, or takes the star back (POST, audited).
Agents see the kudos starred for their own teams and their own; managers, leads and admins
see them all."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from followup import agents, audit, kudos
from followup.dashboard import bp
from followup.extensions import db
from followup.models import Case, Kudo
from followup.models.base import MAX_ID, utcnow
from followup.users import can
from followup.web.console import needs
from followup.web.forms import clean_text
from followup.web.pages import paged

MAX_TEAM = 200


def _feed_args(source) -> dict[str, str]:
    """The feed's filters (from the URL, or a star form's fields), cleaned."""
    team = (clean_text(source.get("team")) or "")[:MAX_TEAM]
    starred = "1" if source.get("starred") == "1" else ""
    return {name: value for name, value in (("team", team), ("starred", starred)) if value}


@bp.get("/kudos")
@needs("signed_in")
def kudos_feed():
    agent = agents.is_agent(current_user)
    if not agent and not can(current_user, "read"):
        abort(403)
    args = _feed_args(request.args)
    link = current_user.agent if agent else None
    # An agent's feed: the kudos starred for their teams (the teams of their cases) and their
    # own; the team filter offers those teams only.
    teams = agents.cases_of(current_user).teams if agent else None
    query = kudos.feed(team=args.get("team", ""), starred=bool(args.get("starred")),
                       agent_link=link, agent_teams=teams)  # fmt: skip
    page = paged(query, (Kudo.created_at.desc(), Kudo.id.desc()), kudos.FEED_PAGE,
                 request.args.get("page"))  # fmt: skip
    external_ids = dict(
        db.session.execute(
            sa.select(Case.id, Case.external_id).where(
                Case.id.in_({kudo.case_id for kudo in page.rows})
            )
        ).all()
    )
    return render_template(
        "dashboard/kudos.html",
        page=page,
        args=args,
        teams=list(teams) if teams is not None else kudos.feed_teams(),
        external_ids=external_ids,
        mine={kudo.id for kudo in page.rows if kudos.is_own(kudo, link)},
        agent=agent,
    )


def _kudo(kudo_id: int) -> Kudo:
    kudo = db.session.get(Kudo, kudo_id) if 1 <= kudo_id <= MAX_ID else None
    if kudo is None:
        abort(404)
    return kudo


def _back():
    args: dict = _feed_args(request.form)
    return redirect(url_for("dashboard.kudos_feed", **args), code=303)


@bp.post("/kudos/<int:kudo_id>/star")
@needs("configure")
def kudo_star(kudo_id: int):
    kudo = _kudo(kudo_id)
    if kudos.star(kudo, current_user._get_current_object(), utcnow()):
        audit.record("star", "kudo", kudo.id,
                     f"Starred the kudo of {kudo.agent or 'no agent'} (case #{kudo.case_id}) "
                     "for the team")  # fmt: skip
        db.session.commit()
        flash(_("Starred: the team sees it in their feed."))
    return _back()


@bp.post("/kudos/<int:kudo_id>/unstar")
@needs("configure")
def kudo_unstar(kudo_id: int):
    kudo = _kudo(kudo_id)
    if kudos.unstar(kudo):
        audit.record("unstar", "kudo", kudo.id,
                     f"Took the star off the kudo of {kudo.agent or 'no agent'} "
                     f"(case #{kudo.case_id})")  # fmt: skip
        db.session.commit()
        flash(_("The star is off."))
    return _back()
