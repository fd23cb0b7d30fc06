"""The weekly digest: last week (Monday to Sunday in the organisation's zone) to each active
manager and lead who has not opted out, once per user and week, with the dashboard's own
figures for that week and the customers' words escaped."""

import re
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from followup import digests
from followup.extensions import db
from followup.models import Kudo, OutboundCall, User
from followup.models.recovery import CallKind
from tests.support.console import password_hash
from tests.support.figures import TODAY, add_cases
from tests.support.hostile import MARKUP


def add_user(email: str, role: str, **values) -> User:
    user = User(email=email, role=role, password_hash=password_hash(), session_version=1,
                **values)  # fmt: skip
    db.session.add(user)
    db.session.commit()
    return user


def digest_calls() -> list[OutboundCall]:
    db.session.expire_all()
    query = sa.select(OutboundCall).where(OutboundCall.kind == CallKind.STAFF_EMAIL)
    return list(db.session.scalars(query.order_by(OutboundCall.id)))


def this_monday() -> datetime:
    """09:00 UTC on the Monday of this week (the rounds fixture's facts reach 20 days back)."""
    return datetime.combine(TODAY - timedelta(days=TODAY.weekday()), time(9), UTC)


def test_last_week_is_monday_to_sunday_in_the_organisations_zone(app):
    app.config["TIMEZONE"] = "Pacific/Auckland"
    sunday_noon_utc = datetime(2026, 12, 6, 12, tzinfo=UTC)  # Monday 01:00 in Auckland
    assert digests.is_digest_day(sunday_noon_utc)
    week = digests.last_week(sunday_noon_utc)
    assert (week.start.isoformat(), week.end.isoformat(), week.iso) == (
        "2026-11-30", "2026-12-06", "2026-W49"
    )  # fmt: skip
    app.config["TIMEZONE"] = "UTC"
    assert not digests.is_digest_day(sunday_noon_utc)


def test_each_manager_and_lead_gets_one_digest_a_week_unless_they_opted_out(app, users):
    add_user("agent@example.com", "agent", agent="ana")
    add_user("quiet@example.com", "manager", weekly_digest=False)
    add_user("gone@example.com", "lead", active=False)
    monday = this_monday()
    assert digests.send_due(monday + timedelta(days=1)) == 0  # a Tuesday: nothing
    assert digests.send_due(monday) == 2
    db.session.commit()
    assert digests.send_due(monday + timedelta(hours=1)) == 0  # the same week: nothing more
    db.session.commit()
    calls = digest_calls()
    assert sorted(call.payload["to"] for call in calls) == [
        "lead@example.com", "manager@example.com"
    ]  # fmt: skip
    week = digests.last_week(monday)
    assert {call.key for call in calls} == {
        f"staff_email:digest:{users[role].id}:{week.iso}" for role in ("lead", "manager")
    }


def test_the_digest_shows_the_dashboards_figures_for_the_week(app, as_manager, rounds):
    case_id = add_cases(1, "K")[0]
    monday = this_monday()
    week = digests.last_week(monday)
    db.session.add(Kudo(case_id=case_id, round=1, kind="praise", agent_name="ana", team="North",
                        score=5, scale_max=5, comment="Ana <script>alert(1)</script> was great",
                        created_at=datetime.combine(week.start, time(12), UTC)))  # fmt: skip
    db.session.commit()
    assert digests.send_due(monday) == 2  # the manager and the lead
    db.session.commit()
    [call] = [call for call in digest_calls() if call.payload["to"] == "manager@example.com"]
    text, html = call.payload["text"], call.payload["html"]
    shown = as_manager.get(f"/dashboard/figures.json?from={week.start}&to={week.end}").json
    labels = {"csat": "CSAT", "response": "Response rate", "negative": "Negative answers",
              "recovery": "Recovery rate"}  # fmt: skip
    for key, label in labels.items():
        figure, before = shown["headline"][key], shown["previous"][key]
        line = re.search(rf"^- {label}: (.*)$", text, re.M).group(1)
        assert f"({figure['numerator']} of {figure['denominator']}) / " in line, line
        assert f"({before['numerator']} of {before['denominator']})" in line, line
        assert f"({figure['numerator']:,} of {figure['denominator']:,})" in html
    reasons = {row["label"]: row for row in shown["reasons"] if row["rising"]}
    for label, row in reasons.items():
        assert f"- {label}: {row['negative']} / {row['previous']}" in text
    link = f"http://followup.test/dashboard/?from={week.start}&amp;to={week.end}"
    assert link in html
    assert "Ana <script>alert(1)</script> was great" in text
    assert "Ana &lt;script&gt;alert(1)&lt;/script&gt; was great" in html
    assert not any(markup in html for markup in MARKUP)
    assert "RECOVERIES OVERDUE NOW: 0" in text
