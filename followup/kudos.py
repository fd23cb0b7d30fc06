"""Kudos: a customer's praise (a positive first answer with a comment, by the survey's bands,
surveys.scoring.verdict) or a recovered customer (the recovery loop ended "recovered"),
credited to the case's agent and team as the case had them, one per case round and kind, made
in the transaction of the answer or the outcome. A changed answer updates the praise or
withdraws it (no longer positive, or no comment left); an escalation after a recovery
withdraws its kudo.

The agent hears of it by their kudos_delivery: "instant" plans one email per kudo at once,
"daily" one email a day with that day's kudos (send_daily, a worker job), "off" the console
only. A lead stars a kudo to share it with the team. Customers' words are text: the emails'
HTML parts escape them. Operations flush; the caller commits."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app, render_template

from followup import agents
from followup.extensions import db
from followup.models import Case, Kudo, Recovery, Response, Survey, User
from followup.models.kudos import KudoKind
from followup.models.users import KudosDelivery
from followup.outbound import email_staff, insert_once
from followup.staff_emails import console_url, planned_keys, zone
from surveys.scoring import verdict

# The start of the keys of kudos emails (outbound.email_staff), so erasure finds the daily
# digests that quote a customer.
INSTANT_KEY = "kudo"
DAILY_KEY = "kudos-daily"
FEED_PAGE = 20
FEED_PATH = "/dashboard/kudos"


def _kudo(case_id: int, round_number: int, kind: KudoKind) -> Kudo | None:
    return db.session.scalar(
        sa.select(Kudo).where(Kudo.case_id == case_id, Kudo.round == round_number,
                              Kudo.kind == kind)
    )  # fmt: skip


def _make(case: Case, round_number: int, kind: KudoKind, answer: Response, survey: Survey,
          now: datetime) -> Kudo | None:  # fmt: skip
    """Insert the kudo (once: concurrent callers wait for each other) and deliver it; the
    existing one updated with the answer when it was there already."""
    existing = _kudo(case.id, round_number, kind)
    if existing is not None:
        existing.score, existing.scale_max = answer.score, survey.scale_max
        existing.comment, existing.response_id = answer.comment or "", answer.id
        return existing
    inserted = insert_once(
        Kudo,
        case_id=case.id,
        round=round_number,
        kind=kind,
        response_id=answer.id,
        agent_name=case.agent_name,
        agent_email=(case.agent_email or "").lower() or None,
        team=case.team,
        score=answer.score,
        scale_max=survey.scale_max,
        comment=answer.comment or "",
        created_at=now,
    )
    kudo = _kudo(case.id, round_number, kind)
    if inserted and kudo is not None:
        _deliver_instant(kudo, case, now)
    return kudo


def _withdraw(case_id: int, round_number: int, kind: KudoKind) -> None:
    db.session.execute(
        sa.delete(Kudo).where(Kudo.case_id == case_id, Kudo.round == round_number,
                              Kudo.kind == kind)
    )  # fmt: skip


def on_first_answer(answer: Response, survey: Survey, now: datetime) -> None:
    """The round's first answer, new or changed: praise when it is positive with a comment,
    else no praise."""
    db.session.flush()
    praised = bool((answer.comment or "").strip()) and (
        verdict(survey, answer.score, answer.comment) == "positive"
    )
    if praised:
        case = db.session.get_one(Case, answer.case_id)
        _make(case, answer.round, KudoKind.PRAISE, answer, survey, now)
    else:
        _withdraw(answer.case_id, answer.round, KudoKind.PRAISE)


def on_recovered(recovery: Recovery, answer: Response, survey: Survey, now: datetime) -> None:
    """The recovery ended "recovered" (its positive check-in answer)."""
    db.session.flush()
    case = db.session.get_one(Case, recovery.case_id)
    _make(case, recovery.round, KudoKind.RECOVERED, answer, survey, now)


def on_escalated(recovery: Recovery) -> None:
    """A recovered case escalated after all: no kudo for it."""
    _withdraw(recovery.case_id, recovery.round, KudoKind.RECOVERED)


def recipients(agent_name: str | None, agent_email: str | None) -> list[User]:
    """The active console users linked to a case with this agent."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.active.is_(True), User.agent.is_not(None),
                   agents.linked_users_clause(agent_name, agent_email))
            .order_by(User.id)
        )
    )  # fmt: skip


def _deliver_instant(kudo: Kudo, case: Case, now: datetime) -> None:
    for user in recipients(kudo.agent_name, kudo.agent_email):
        if user.kudos_delivery != KudosDelivery.INSTANT:
            continue
        context = {
            "user": user,
            "kudos": [(kudo, case.external_id)],
            "link": console_url(FEED_PATH),
            "organisation": current_app.config["ORGANISATION_NAME"],
            "day": None,
        }
        email_staff(
            f"{INSTANT_KEY}:{kudo.case_id}:{kudo.round}:{kudo.kind}:{user.id}",
            user.email,
            _subject(kudo),
            render_template("email/staff/kudos.txt", **context),
            render_template("email/staff/kudos.html", **context),
            kudo.case_id,
            now,
        )


def _subject(kudo: Kudo) -> str:
    if kudo.kind == KudoKind.RECOVERED:
        return "Kudos: a customer you helped was won back"
    return "Kudos: a customer praised your help"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The organisation's day as UTC instants [start, end)."""
    tz = zone()
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def send_daily(now: datetime) -> int:
    """Plan each "daily" user's email of yesterday's kudos (the organisation's day that
    ended last), once per user and day (the email's key; users planned already are skipped
    before their kudos are read); how many were planned."""
    day = now.astimezone(zone()).date() - timedelta(days=1)
    start, end = day_bounds(day)
    users = db.session.scalars(
        sa.select(User).where(User.active.is_(True), User.agent.is_not(None),
                              User.kudos_delivery == KudosDelivery.DAILY).order_by(User.id)
    ).all()  # fmt: skip
    keys = {user.id: f"{DAILY_KEY}:{user.id}:{day.isoformat()}" for user in users}
    done = planned_keys(list(keys.values()))
    planned = 0
    for user in users:
        if keys[user.id] in done:
            continue
        assert user.agent is not None
        rows = db.session.execute(
            sa.select(Kudo, Case.external_id)
            .join(Case, Case.id == Kudo.case_id)
            .where(Kudo.created_at >= start, Kudo.created_at < end,
                   agents.case_clause(user.agent, Kudo))
            .order_by(Kudo.created_at, Kudo.id)
        ).all()  # fmt: skip
        if not rows:
            continue
        context = {
            "user": user,
            "kudos": [tuple(row) for row in rows],
            "link": console_url(FEED_PATH),
            "organisation": current_app.config["ORGANISATION_NAME"],
            "day": day,
        }
        count = len(rows)
        subject = f"Kudos for {day.isoformat()}: {count} customer{'s' if count > 1 else ''}"
        planned += email_staff(
            keys[user.id],
            user.email,
            subject,
            render_template("email/staff/kudos.txt", **context),
            render_template("email/staff/kudos.html", **context),
            None,
            now,
        )
    return planned


def star(kudo: Kudo, user: User, now: datetime) -> bool:
    """Share the kudo with the team; False when it was starred already."""
    if kudo.starred_at is not None:
        return False
    kudo.starred_at, kudo.starred_by = now, user.id
    return True


def unstar(kudo: Kudo) -> bool:
    if kudo.starred_at is None:
        return False
    kudo.starred_at, kudo.starred_by = None, None
    return True


def feed(team: str = "", starred: bool = False, agent_link: str | None = None,
         agent_teams: tuple[str, ...] | None = None) -> sa.Select:  # fmt: skip
    """The feed's query (Kudo rows), unordered: by team, starred only; for an agent
    (agent_teams given: the teams of their cases) the kudos starred for those teams (a star
    shares a kudo with the team) and their own (agent_link's)."""
    query = sa.select(Kudo)
    if team:
        query = query.where(Kudo.team == team)
    if starred:
        query = query.where(Kudo.starred_at.is_not(None))
    if agent_teams is not None:  # one IN over a UNION: each part reads its own index
        shared = sa.select(Kudo.id).where(Kudo.team.in_(agent_teams),
                                          Kudo.starred_at.is_not(None))  # fmt: skip
        own = agents.link_selects(agent_link, Kudo) if agent_link else []
        ids = sa.union(shared, *own).scalar_subquery() if own else shared.scalar_subquery()
        query = query.where(Kudo.id.in_(ids))
    return query


def is_own(kudo: Kudo, agent_link: str | None) -> bool:
    """Whether the kudo is of the cases this link names (as agents.case_clause: the agent
    email, stored lower-case, or the agent name)."""
    if not agent_link:
        return False
    return kudo.agent_email == agent_link.lower() or kudo.agent_name == agent_link


def feed_teams() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Kudo.team).where(Kudo.team.is_not(None), Kudo.team != "")
            .distinct().order_by(Kudo.team)
        )
    )  # fmt: skip


@dataclass(frozen=True)
class KudoSummary:
    """One kudo as a digest quotes it."""

    id: int
    kind: str
    text: str
    agent: str
    team: str
    score: int
    scale_max: int
    case: str  # the case's external id
    starred: bool
    created_at: datetime


def top_kudos(since: datetime, until: datetime, teams: list[str] | None = None,
              limit: int = 3) -> list[KudoSummary]:  # fmt: skip
    """The best kudos made in [since, until) (aware datetimes: the weekly digest passes its
    week of UTC days, the rollups' days): those with the customer's words, starred first,
    then praise before recovered, the highest share of the scale, the newest; of these teams
    only when given."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one (UTC)")
    query = (
        sa.select(Kudo, Case.external_id)
        .join(Case, Case.id == Kudo.case_id)
        .where(Kudo.created_at >= since, Kudo.created_at < until, Kudo.comment != "",
               Case.redacted_at.is_(None))
    )  # fmt: skip
    if teams is not None:
        query = query.where(Kudo.team.in_(list(teams)))
    rows = db.session.execute(
        query.order_by(
            Kudo.starred_at.is_(None),
            Kudo.kind != KudoKind.PRAISE,
            (sa.cast(Kudo.score, sa.Float) / sa.func.nullif(Kudo.scale_max, 0)).desc(),
            Kudo.created_at.desc(),
            Kudo.id.desc(),
        ).limit(limit)
    ).all()
    return [
        KudoSummary(
            id=kudo.id,
            kind=kudo.kind,
            text=kudo.comment,
            agent=kudo.agent,
            team=kudo.team or "",
            score=kudo.score,
            scale_max=kudo.scale_max,
            case=external_id,
            starred=kudo.starred_at is not None,
            created_at=kudo.created_at,
        )  # fmt: skip
        for kudo, external_id in rows
    ]
