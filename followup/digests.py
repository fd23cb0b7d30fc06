"""The weekly digest: each active manager and lead whose `weekly_digest` is on gets one email
of the last complete week of the rollups' days (Monday to Sunday of UTC days: a figure's day
is its close's UTC date, as the dashboard's ?from=Monday&to=Sunday shows it): the dashboard's
headline figures for that week against the week before, with their denominators
(followup.figures, with the filters the dashboard's link opens, so the numbers are the
dashboard's), the three reasons rising most, the recoveries overdue now, the top kudos made in
the same UTC week (followup.kudos.top_kudos) and links into the dashboard for that week.

A lead with teams (User.teams) gets one block of figures, rising reasons and overdue
recoveries per team (the dashboard's ?team=) and the kudos of those teams; managers, and
leads without teams, get every team's.

When: from Monday in the organisation's zone (config TIMEZONE) to the end of that week, once
the UTC week it reports has ended, the figures' refresh lag (FIGURES_LAG) has passed and the
rollups have read every case event of that week (followup.rollups' state). In a zone east of
UTC that is some hours into Monday; a digest missed on Monday (workers down) goes out later
that week.

Each email is planned through outbound.email_staff with a key per user and ISO week: running
again (every hour, on many hosts) plans nothing more, and the users planned already are
skipped before anything is computed. Operations flush; the caller commits."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app, render_template

from followup import kudos
from followup.extensions import db
from followup.figures import (
    HEADLINES,
    Filters,
    overdue_recoveries,
    period_headline,
    rising_reasons,
)
from followup.models import CaseEvent, FigureState, User
from followup.models.users import Role
from followup.outbound import email_staff
from followup.staff_emails import console_url, planned_keys, zone

DIGEST_ROLES = (Role.MANAGER, Role.LEAD)
# The start of a digest email's key (outbound.email_staff): it quotes customers' kudos, so
# erasure and retention find the digests still to send by it (followup.privacy).
DIGEST_KEY = "digest"
# How long after a kudo is made a staff email may still be planned quoting it: a digest goes
# out at the latest on the Sunday (organisation's zone) after the UTC week it reports, up to
# 14 days and the zone's offset after its first instant; a daily kudos email the next day.
QUOTES_KUDOS_FOR = timedelta(days=15)
RISING = 3
TOP_KUDOS = 3
EVERY_TEAM = "every team"


@dataclass(frozen=True)
class Week:
    """A week of the rollups' days (UTC), Monday to Sunday."""

    start: date
    end: date

    @property
    def iso(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def since(self) -> datetime:
        """Its first instant (Monday 00:00 UTC)."""
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        """The instant it ends (the next Monday 00:00 UTC)."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def previous(self) -> "Week":
        return Week(self.start - timedelta(days=7), self.end - timedelta(days=7))


LAST_SENDING_DAY = 1  # Tuesday (Monday is 0): a digest goes out no later than this


def last_week(now: datetime) -> Week:
    """The week of UTC days before the organisation's week `now` is in: the one its Monday's
    digest reports."""
    today = now.astimezone(zone()).date()
    monday = today - timedelta(days=today.weekday())
    return Week(monday - timedelta(days=7), monday - timedelta(days=1))


def figures_cover(until: datetime) -> bool:
    """Whether the rollups have read every case event before `until` (none left past the
    state's last event id: a look at the few events not read yet)."""
    read = db.session.scalar(sa.select(FigureState.last_event_id).where(FigureState.id == 1))
    unread = db.session.scalar(
        sa.select(CaseEvent.id).where(CaseEvent.id > (read or 0), CaseEvent.at < until).limit(1)
    )
    return unread is None


def due_week(now: datetime) -> Week | None:
    """The week whose digest is due now, or None: the UTC week before the organisation's
    current week, once it has ended, the refresh lag has passed and the rollups have read its
    events, on the organisation's Monday or, when the workers missed Monday, its Tuesday (a
    service started later in the week sends its first digest the Monday after)."""
    if now.astimezone(zone()).weekday() > LAST_SENDING_DAY:
        return None
    week = last_week(now)
    if now < week.until + timedelta(seconds=current_app.config["FIGURES_LAG"]):
        return None
    return week if figures_cover(week.until) else None


def recipients() -> list[User]:
    """The active managers and leads who have not turned the digest off, by email."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.active.is_(True),
                User.weekly_digest.is_(True),
                User.role.in_([str(role) for role in DIGEST_ROLES]),
            )
            .order_by(User.email)
        )
    )


def teams_of(user: User) -> tuple[str, ...]:
    """The teams a user's digest is for, sorted; () for every team (managers, and leads
    without teams)."""
    if user.role != Role.LEAD:
        return ()
    return tuple(sorted({team for team in user.teams or [] if team}))


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def duration(seconds: float) -> str:
    """As the dashboard writes a time: "40 min", "3.5 h", "2.1 days"."""
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def figure_text(key: str, figure: dict) -> str:
    """A headline figure as the dashboard shows it, with what it is of: "82% (41 of 50)",
    "+12 (of 40 answers)", "3.5 h (of 6 recovered)"."""
    value, numerator, denominator = figure["value"], figure["numerator"], figure["denominator"]
    if key == "nps":
        return f"{'–' if value is None else f'{value:+.0f}'} (of {denominator:,} answers)"
    if key == "ces":
        return f"{'–' if value is None else f'{value:.1f}'} (mean of {denominator:,} answers)"
    if key == "median_recovery":
        shown = "–" if value is None else duration(value)
        return f"{shown} (over {denominator:,} recovered)"
    if key == "cost_per_recovered":
        shown = "–" if value is None else f"{value:,.2f}"
        return f"{shown} (over {denominator:,} recovered)"
    return f"{_percent(value)} ({numerator:,} of {denominator:,})"


def block(week: Week, now: datetime, team: str = "") -> dict:
    """One block of a digest: the week's headline figures against the week before, the
    reasons rising most and the recoveries overdue now, of one team ("": every team)."""
    filters = Filters(start=week.start, end=week.end, team=team)
    figures = period_headline(filters)
    args = filters.query()
    rows = []
    for key, label, better in HEADLINES:
        now_figure, before = figures["headline"][key], figures["previous"][key]
        rows.append({
            "key": key,
            "label": label,
            "now": figure_text(key, now_figure),
            "before": figure_text(key, before),
            "value": now_figure["value"],
            "denominator": now_figure["denominator"],
            "change": _change(now_figure["value"], before["value"], better),
        })  # fmt: skip
    rising = [
        {"label": row["label"], "reason": row["reason"], "negative": row["negative"],
         "previous": row["previous"],
         "link": console_url("/dashboard/cases", {"metric": "negative",
                                                   **filters.query(reason=row["reason"])})}
        for row in rising_reasons(filters, RISING)
    ]  # fmt: skip
    return {
        "team": team,
        "label": team or EVERY_TEAM,
        "rows": rows,
        "sums": figures["sums"],
        "rising": rising,
        "overdue": overdue_recoveries(now, team),
        "dashboard": console_url("/dashboard/", args),
        "reasons_link": console_url("/dashboard/", args) + "#reasons",
    }


def content(week: Week, now: datetime, teams: tuple[str, ...] = (),
            blocks: dict[str, dict] | None = None) -> dict:  # fmt: skip
    """What one digest says (its template's context): one block per team (one of every team
    when `teams` is empty), the kudos of those teams. `blocks` caches the blocks by team
    across the digests of one run."""
    blocks = {} if blocks is None else blocks
    for team in teams or ("",):
        if team not in blocks:
            blocks[team] = block(week, now, team)
    return {
        "week": week,
        "previous_week": week.previous(),
        "blocks": [blocks[team] for team in teams or ("",)],
        "kudos": kudos.top_kudos(
            week.since, week.until, teams=list(teams) or None, limit=TOP_KUDOS
        ),  # fmt: skip
        "recoveries_link": console_url("/admin/recoveries"),
        "organisation": current_app.config.get("ORGANISATION_NAME", ""),
        "teams": ", ".join(teams) or EVERY_TEAM,
    }


def _change(value: float | None, before: float | None, better: str) -> str:
    """ "up", "down" or "" against the week before, and whether that is good."""
    if value is None or before is None or value == before:
        return ""
    up = value > before
    good = up == (better == "up")
    return f"{'up' if up else 'down'} ({'better' if good else 'worse'})"


def key_of(user: User, week: Week) -> str:
    return f"{DIGEST_KEY}:{user.id}:{week.iso}"


def send_due(now: datetime) -> int:
    """Plan the due week's digest (due_week) to every recipient not sent it yet; how many
    were planned (0 while none is due, and on a second run). Each set of teams' digest is
    computed and rendered once, each team's block once."""
    week = due_week(now)
    if week is None:
        return 0
    people = recipients()
    done = planned_keys([key_of(user, week) for user in people])
    people = [user for user in people if key_of(user, week) not in done]
    if not people:
        return 0
    subject = f"Your weekly figures: {week.start:%d %b} to {week.end:%d %b %Y}"
    blocks: dict[str, dict] = {}
    rendered: dict[tuple[str, ...], tuple[str, str]] = {}
    planned = 0
    for user in people:
        teams = teams_of(user)
        if teams not in rendered:
            context = content(week, now, teams, blocks)
            rendered[teams] = (render_template("email/staff/digest.txt", **context),
                               render_template("email/staff/digest.html", **context))  # fmt: skip
        text, html = rendered[teams]
        planned += email_staff(key_of(user, week), user.email, subject, text, html, None, now)
    return planned
