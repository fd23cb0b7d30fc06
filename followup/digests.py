"""The weekly digest: every Monday in the organisation's zone (config TIMEZONE), each active
manager and lead whose `weekly_digest` is on gets one email of last week (Monday to Sunday):
the dashboard's headline figures for that week against the week before, with their
denominators (followup.figures, with the filters the dashboard's link opens, so the numbers
are the dashboard's), the three reasons rising most, the recoveries overdue now, the top kudos
of the week (followup.kudos.top_kudos) and links into the dashboard for that week.

Nothing links a lead to teams, so a lead's digest covers every team, as a manager's does.
The week's figures are the rollups' days Monday to Sunday (a day is a close's UTC date), as
the dashboard shows for ?from=Monday&to=Sunday.

Each email is planned through outbound.email_staff with a key per user and ISO week: running
again (every hour, on many hosts) plans nothing more. Operations flush; the caller commits."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

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
from followup.models import User
from followup.models.users import Role
from followup.outbound import email_staff

DIGEST_ROLES = (Role.MANAGER, Role.LEAD)
# The start of a digest email's key (outbound.email_staff): it quotes customers' kudos, so
# erasure and retention find the digests still to send by it (followup.privacy).
DIGEST_KEY = "digest"
RISING = 3
TOP_KUDOS = 3


@dataclass(frozen=True)
class Week:
    """A week of the organisation's days, Monday to Sunday."""

    start: date
    end: date

    @property
    def iso(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def last_week(now: datetime) -> Week:
    """The week (Monday to Sunday, in the organisation's zone) before the one `now` is in."""
    today = now.astimezone(zone()).date()
    monday = today - timedelta(days=today.weekday())
    return Week(monday - timedelta(days=7), monday - timedelta(days=1))


def is_digest_day(now: datetime) -> bool:
    """Monday in the organisation's zone."""
    return now.astimezone(zone()).weekday() == 0


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


def _link(path: str, args: dict[str, str]) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}{path}?{urlencode(args)}"


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


def content(week: Week, now: datetime, teams: list[str] | None = None) -> dict:
    """What one digest says (its template's context)."""
    filters = Filters(start=week.start, end=week.end)
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
         "link": _link("/dashboard/cases", {"metric": "negative",
                                             **filters.query(reason=row["reason"])})}
        for row in rising_reasons(filters, RISING)
    ]  # fmt: skip
    return {
        "week": week,
        "previous_week": Week(week.start - timedelta(days=7), week.end - timedelta(days=7)),
        "rows": rows,
        "sums": figures["sums"],
        "rising": rising,
        "overdue": overdue_recoveries(now),
        "kudos": kudos.top_kudos(week.start, week.end, teams=teams, limit=TOP_KUDOS),
        "dashboard": _link("/dashboard/", args),
        "reasons_link": _link("/dashboard/", args) + "#reasons",
        "recoveries_link": f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/admin/recoveries",
        "organisation": current_app.config.get("ORGANISATION_NAME", ""),
        "teams": "every team",
    }


def _change(value: float | None, before: float | None, better: str) -> str:
    """ "up", "down" or "" against the week before, and whether that is good."""
    if value is None or before is None or value == before:
        return ""
    up = value > before
    good = up == (better == "up")
    return f"{'up' if up else 'down'} ({'better' if good else 'worse'})"


def send_due(now: datetime) -> int:
    """On a Monday of the organisation's zone, plan last week's digest to every recipient not
    sent it yet; how many were planned (0 on other days, and on a second run)."""
    if not is_digest_day(now):
        return 0
    week = last_week(now)
    people = recipients()
    if not people:
        return 0
    context = content(week, now)
    subject = f"Your weekly figures: {week.start:%d %b} to {week.end:%d %b %Y}"
    text = render_template("email/staff/digest.txt", **context)
    html = render_template("email/staff/digest.html", **context)
    planned = 0
    for user in people:
        key = f"{DIGEST_KEY}:{user.id}:{week.iso}"
        planned += email_staff(key, user.email, subject, text, html, None, now)
    return planned
