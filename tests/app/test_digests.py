"""The weekly digest: the last complete week of UTC days (the dashboard's) to each active
manager and lead who has not opted out, once per user and week, from Monday in the
organisation's zone once that week's figures are complete, with the dashboard's own figures
for that week (per team for a lead with teams), the kudos of the same UTC week and the
customers' words escaped."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from followup import digests, privacy, rollups
from followup.extensions import db
from followup.models import Case, CaseEvent, Customer, Kudo, OutboundCall, User
from followup.models.cases import EventKind
from followup.models.recovery import CallKind
from tests.support.console import password_hash
from tests.support.figures import TODAY, add_cases, roll_up, round_fact
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


SUNDAY = date(2026, 12, 6)  # the last day of ISO week 2026-W49 (Monday 30 November)
MONDAY_UTC = datetime(2026, 12, 7, tzinfo=UTC)  # when that week of UTC days ends


def add_kudo(case_id: int, at: datetime, comment: str, team: str = "North") -> None:
    db.session.add(Kudo(case_id=case_id, round=1, kind="praise", agent_name="ana", team=team,
                        score=5, scale_max=5, comment=comment, created_at=at))  # fmt: skip
    db.session.commit()


# East of UTC: Monday 01:00 in Auckland is Sunday noon UTC, the week still running: nothing
# due until its end and the figures' lag (13:01 in Auckland). West of UTC: Sunday 20:00 in Los
# Angeles is Monday 04:00 UTC, still Sunday there: no digest goes out on a Sunday; Monday 00:30
# there is 08:30 UTC.
ZONES = {
    "Pacific/Auckland": (-12, None, 1 / 60),
    "America/Los_Angeles": (4, None, 8.5),
}  # zone: (hours from MONDAY_UTC then, the week due then, hours when this week is due)


@pytest.mark.parametrize("zone", list(ZONES))
def test_the_week_its_figures_and_kudos_are_the_same_utc_days_in_any_zone(app, users, zone):
    app.config["TIMEZONE"] = zone
    early_hours, week_then, due_hours = ZONES[zone]
    early, due = (MONDAY_UTC + timedelta(hours=hours) for hours in (early_hours, due_hours))
    ids = add_cases(4, "Z")
    # The week's last UTC day and its Monday counted; the next week's and the week before's not.
    days = (SUNDAY, SUNDAY + timedelta(days=1), SUNDAY - timedelta(days=6), SUNDAY - timedelta(7))
    roll_up([round_fact(case_id, day, score=score)
             for case_id, day, score in zip(ids, days, (5, 1, 1, 5), strict=True)])  # fmt: skip
    add_kudo(ids[0], MONDAY_UTC - timedelta(minutes=30), "Late Sunday praise")
    add_kudo(ids[1], MONDAY_UTC + timedelta(minutes=1), "Monday praise")
    add_kudo(ids[2], MONDAY_UTC - timedelta(days=7, minutes=1), "The week before's praise")
    assert getattr(digests.due_week(early), "iso", None) == week_then
    week = digests.due_week(due)
    assert (week.start, week.end, week.iso) == (date(2026, 11, 30), SUNDAY, "2026-W49")
    assert digests.send_due(due) == 2
    db.session.commit()
    for call in digest_calls():
        text = call.payload["text"]
        assert "2026-11-30 to 2026-12-06" in text and "against 2026-11-23 to 2026-11-29" in text
        assert "- CSAT: 50% (1 of 2) / 100% (1 of 1)" in text
        assert "Late Sunday praise" in text
        assert "Monday praise" not in text and "The week before's praise" not in text
    assert digests.send_due(due + timedelta(days=1)) == 0  # Tuesday: sent already


@pytest.mark.parametrize("days_late, sent", [(1, 2), (2, 0), (4, 0)])
def test_a_digest_missed_on_monday_goes_on_tuesday_not_later(app, users, days_late, sent):
    """Workers down on Monday: Tuesday still sends it; a service first started on Wednesday or
    later sends its first digest the Monday after, not one for a week long gone."""
    rollups.refresh(MONDAY_UTC + timedelta(days=days_late), lag_seconds=0)
    assert digests.send_due(MONDAY_UTC + timedelta(days=days_late, hours=9)) == sent


def test_the_digest_waits_for_the_rollups_to_read_the_weeks_events(app, users):
    [case_id] = add_cases(1, "W")
    db.session.add(CaseEvent(case_id=case_id, kind=EventKind.ALERT_RAISED, detail={},
                             at=MONDAY_UTC - timedelta(minutes=5)))  # fmt: skip
    db.session.commit()
    later = MONDAY_UTC + timedelta(hours=9)
    assert digests.due_week(later) is None and digests.send_due(later) == 0
    rollups.refresh(later, lag_seconds=0)
    assert digests.due_week(later) is not None
    assert digests.send_due(later) == 2


def test_each_manager_and_lead_gets_one_digest_a_week_unless_they_opted_out(app, users):
    add_user("agent@example.com", "agent", agent="ana")
    add_user("quiet@example.com", "manager", weekly_digest=False)
    add_user("gone@example.com", "lead", active=False)
    monday = this_monday()
    assert digests.send_due(monday) == 2
    db.session.commit()
    assert digests.send_due(monday + timedelta(hours=1)) == 0  # the same week: nothing more
    assert digests.send_due(monday + timedelta(days=1)) == 0
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


def test_a_leads_digest_is_for_their_teams_one_block_each(app, as_manager, rounds):
    lead = db.session.scalar(sa.select(User).where(User.email == "lead@example.com"))
    lead.teams = ["South", "North"]
    db.session.commit()
    monday = this_monday()
    week = digests.last_week(monday)
    ids = add_cases(2, "T")
    add_kudo(ids[0], datetime.combine(week.start, time(12), UTC), "North's praise")
    add_kudo(ids[1], datetime.combine(week.start, time(13), UTC), "West's praise", team="West")
    assert digests.send_due(monday) == 2
    db.session.commit()
    emails = {call.payload["to"]: call.payload for call in digest_calls()}
    manager, theirs = emails["manager@example.com"]["text"], emails["lead@example.com"]
    assert "=== TEAM" not in manager and "West's praise" in manager
    assert "(North, South)" in theirs["text"] and "North's praise" in theirs["text"]
    assert "West's praise" not in theirs["text"] + theirs["html"]
    _, north, south = re.split(r"^=== TEAM (?:North|South) ===$", theirs["text"], flags=re.M)
    for team, text in (("North", north), ("South", south)):
        args = f"from={week.start}&to={week.end}&team={team}"
        shown = as_manager.get(f"/dashboard/figures.json?{args}").json
        for key, label in (("csat", "CSAT"), ("response", "Response rate")):
            figure, before = shown["headline"][key], shown["previous"][key]
            line = re.search(rf"^- {label}: (.*)$", text, re.M).group(1)
            assert f"({figure['numerator']} of {figure['denominator']}) / " in line, line
            assert f"({before['numerator']} of {before['denominator']})" in line, line
        assert f"The dashboard for this week: http://followup.test/dashboard/?{args}" in text
        assert "RECOVERIES OVERDUE NOW: 0" in text
    assert 'id="digest-1-csat"' in theirs["html"] and 'id="digest-2-csat"' in theirs["html"]


def test_hourly_runs_skip_the_users_planned_already_before_any_work(app, users, monkeypatch):
    monday = this_monday()
    assert digests.send_due(monday) == 2
    db.session.commit()

    def no_work(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(digests, "block", no_work)
    monkeypatch.setattr(digests, "render_template", no_work)
    assert digests.send_due(monday + timedelta(hours=1)) == 0


def test_an_erasure_scrubs_a_pending_digest_and_lets_it_go(app, users):
    monday = this_monday()
    customer = Customer(name="Erin Erased", email="erin@example.com")
    db.session.add(customer)
    db.session.flush()
    [case_id] = add_cases(1, "E")
    db.session.execute(sa.update(Case).where(Case.id == case_id).values(customer_id=customer.id))
    add_kudo(case_id, monday - timedelta(days=3), "Quokka-level service")
    assert digests.send_due(monday) == 2
    db.session.commit()
    privacy.erase(db.session.get(Customer, customer.id), monday + timedelta(hours=1))
    db.session.commit()
    for call in digest_calls():
        assert call.status == "pending"
        assert "Quokka" not in call.payload["text"] + call.payload["html"]
        assert "[redacted]" in call.payload["text"] and "HEADLINE FIGURES" in call.payload["text"]
