"""Agents and their cases: a console user's link (User.agent: the agent name or email cases
arrive with) matched to the cases they handled (the case's agent email, any case, or its agent
name), the agent names the rollups know them by (the rollups' agent key is case.agent_name)
and the teams of those cases. No Flask; reads only."""

from dataclasses import dataclass

import sqlalchemy as sa

from followup.extensions import db
from followup.models import Case, User
from followup.models.users import Role

MAX_LINK = 320


class LinkError(ValueError):
    """An agent link that cannot be stored."""


def normalise_link(raw: str | None) -> str | None:
    """The link as stored: trimmed, control characters refused, an email lower-case; None
    when blank."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > MAX_LINK:
        raise LinkError(f"at most {MAX_LINK} characters")
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise LinkError("no control characters")
    return text.lower() if "@" in text else text


def link_selects(link: str, model=Case) -> list[sa.Select]:
    """SELECTs of the ids of the cases (or kudos: any model with id, agent_name and
    agent_email) this link names: by its agent email (stored lower-case), by its agent
    name. Each reads its own index (agent_email, agent_name)."""
    return [
        sa.select(model.id).where(model.agent_email == link.lower()),
        sa.select(model.id).where(model.agent_name == link),
    ]


def case_ids(link: str, model=Case) -> sa.ScalarSelect:
    """SQL: the ids of the cases (or kudos) this link names, a UNION of link_selects (for
    `column IN (...)`), so each side uses its index and no row is read that neither names
    (where an OR over lower() read the whole table)."""
    return sa.union(*link_selects(link, model)).scalar_subquery()


def case_clause(link: str, model=Case) -> sa.ColumnElement[bool]:
    """SQL: the cases (or kudos) this link names."""
    return model.id.in_(case_ids(link, model))


def linked_users_clause(agent_name: str | None, agent_email: str | None) -> sa.ColumnElement:
    """SQL: the users whose link names a case with this agent name and email."""
    options = []
    if agent_email:
        options.append(sa.func.lower(User.agent) == agent_email.lower())
    if agent_name:
        options.append(User.agent == agent_name)
    return sa.or_(*options) if options else sa.false()


@dataclass(frozen=True)
class AgentScope:
    """What an agent user's figures are filtered by: the agent names of their cases (the
    rollups' key) and the teams of those cases (the comparison), most cases first; the
    names left out because other agents' cases carry them too (`shared`)."""

    names: tuple[str, ...]
    teams: tuple[str, ...]
    shared: tuple[str, ...] = ()


def cases_of(user: User) -> AgentScope:
    """The agent names and teams of the user's cases (none without a link). An email link
    keeps only the names no case with another (non-empty) agent email carries: the rollups
    add up a name's cases whoever handled them, so a shared name ("Support", two Sams) would
    show someone else's figures."""
    if not user.agent:
        return AgentScope((), ())
    clause = case_clause(user.agent)
    names = db.session.execute(
        sa.select(Case.agent_name, sa.func.count())
        .where(clause, Case.agent_name.is_not(None), Case.agent_name != "")
        .group_by(Case.agent_name)
        .order_by(sa.func.count().desc(), Case.agent_name)
    ).all()
    teams = db.session.execute(
        sa.select(Case.team, sa.func.count())
        .where(clause, Case.team.is_not(None), Case.team != "")
        .group_by(Case.team)
        .order_by(sa.func.count().desc(), Case.team)
    ).all()
    found = [str(name) for name, _ in names]
    shared: set[str] = set()
    if "@" in user.agent and found:
        shared = set(
            db.session.scalars(
                sa.select(Case.agent_name)
                .where(
                    Case.agent_name.in_(found),
                    Case.agent_email.is_not(None),
                    Case.agent_email != "",
                    Case.agent_email != user.agent.lower(),
                )
                .distinct()
            )
        )
    kept = tuple(name[:200] for name in found if name not in shared)
    if not found and "@" not in user.agent:
        kept = (user.agent[:200],)  # no case yet: the name the rollups will use
    return AgentScope(
        kept, tuple(str(team) for team, _ in teams), tuple(n for n in found if n in shared)
    )


def is_agent(user) -> bool:
    return getattr(user, "role", None) == Role.AGENT


def agent_users() -> list[User]:
    """The agent users, by name."""
    return list(
        db.session.scalars(
            sa.select(User).where(User.role == Role.AGENT).order_by(User.name, User.email)
        )
    )
