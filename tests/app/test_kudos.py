"""Kudos: made from a positive answer with a comment and from a recovered customer, in the
answer's transaction, one per case round and kind, following a changed answer; emailed to the
linked agent at once or in one email a day (the organisation's day, once), or not at all; the
team feed and its stars (who may, hostile filters); top_kudos for the weekly digest."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from followup import kudos, recovery
from followup.extensions import db
from followup.models import AuditEntry, Kudo, OutboundCall, Recovery
from followup.models.base import utcnow
from followup.models.recovery import CallKind
from tests.support.agents import agent_user, answer, case_with_message, check_in_message
from tests.support.console import csrf_token, sign_in
from tests.support.hostile import FORM, PATH_SEGMENTS, STRINGS, form_body
from workers import jobs

PRAISE = "<b>Lovely</b> help from Sam & co"


def staff_emails() -> list[OutboundCall]:
    return list(
        db.session.scalars(
            sa.select(OutboundCall)
            .where(OutboundCall.kind == CallKind.STAFF_EMAIL)
            .order_by(OutboundCall.id)
        )
    )


def all_kudos() -> list[Kudo]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Kudo).order_by(Kudo.id)))


def test_praise_is_a_kudo_emailed_at_once_and_follows_a_changed_answer(app, seeded):
    instant = agent_user("sam@example.com", "sam@example.com", "instant")
    agent_user("off@example.com", "sam@example.com", "off")
    message = case_with_message("K-1", agent_name="Sam R.", agent_email="SAM@Example.com")

    answer(message, 5, PRAISE)
    [kudo] = all_kudos()
    assert (kudo.kind, kudo.score, kudo.scale_max, kudo.comment) == ("praise", 5, 5, PRAISE)
    # The agent email kept lower-case (as intake stores it), for the index that finds it.
    assert (kudo.agent_name, kudo.agent_email, kudo.team) == ("Sam R.", "sam@example.com", "North")
    [email] = staff_emails()  # the instant agent only; "off" reads the console
    assert email.payload["to"] == instant.email and email.case_id == kudo.case_id
    assert PRAISE in email.payload["text"]
    assert (
        "&lt;b&gt;Lovely&lt;/b&gt;" in email.payload["html"] and "<b>" not in email.payload["html"]
    )

    answer(message, 4, "Still good")  # changed: the same kudo, no second email
    [kudo] = all_kudos()
    assert (kudo.score, kudo.comment) == (4, "Still good") and len(staff_emails()) == 1
    answer(message, 2, "Actually it broke")  # negative: withdrawn (a recovery starts)
    assert all_kudos() == []
    answer(message, 5, PRAISE)  # positive again: back, and not emailed twice
    assert len(all_kudos()) == 1 and len(staff_emails()) == 1

    for external_id, score, comment in (("K-2", 5, ""), ("K-3", 3, "It was fine"),
                                        ("K-4", 5, "great but slow")):  # fmt: skip
        answer(case_with_message(external_id), score, comment)
    # No comment and a neutral answer make none; a positive one with words does.
    assert {k.comment for k in all_kudos()} == {PRAISE, "great but slow"}


def test_a_recovered_customer_is_a_kudo_until_an_escalation(app, seeded):
    agent_user("sam@example.com", "Sam Rivera", "instant")
    first = case_with_message("K-9")
    answer(first, 1, "Awful")
    rec = db.session.scalar(sa.select(Recovery))
    answer(check_in_message(rec), 5, "You made it right")
    db.session.refresh(rec)
    assert rec.status == "recovered"
    [kudo] = all_kudos()
    assert (kudo.kind, kudo.comment, kudo.agent_name) == ("recovered", "You made it right",
                                                           "Sam Rivera")  # fmt: skip
    assert len(staff_emails()) == 1
    recovery.escalate(rec, "the customer wrote again", utcnow())
    db.session.commit()
    assert all_kudos() == []


def test_the_daily_email_is_one_per_agent_and_organisation_day(app, seeded):
    app.config["TIMEZONE"] = "America/New_York"
    daily = agent_user("sam@example.com", "Sam Rivera", "daily")
    agent_user("instant@example.com", "Sam Rivera", "instant")
    other = agent_user("bo@example.com", "Bo", "daily")
    # 23:30 in New York on 3 March is 04:30 UTC on 4 March: still the 3rd's kudo.
    made = datetime(2026, 3, 4, 4, 30, tzinfo=UTC)
    answer(case_with_message("D-1"), 5, "Quick and kind", now=made)
    answer(case_with_message("D-2"), 5, "Next day's", now=made + timedelta(hours=1))
    before = len(staff_emails())  # the instant agent's two

    assert kudos.send_daily(datetime(2026, 3, 4, 6, 0, tzinfo=UTC)) == 1  # 01:00 on the 4th
    assert kudos.send_daily(datetime(2026, 3, 4, 7, 0, tzinfo=UTC)) == 0  # once a day
    db.session.commit()
    [email] = staff_emails()[before:]
    assert email.payload["to"] == daily.email and email.case_id is None
    assert "2026-03-03" in email.payload["subject"]
    assert "Quick and kind" in email.payload["text"] and "Next day's" not in email.payload["text"]
    assert other.email not in {e.payload["to"] for e in staff_emails()}
    assert jobs.send_daily_kudos() == 0  # the workers' job: no kudos yesterday, in real time


def test_the_hourly_daily_check_skips_the_agents_planned_already(app, seeded, monkeypatch):
    agent_user("sam@example.com", "Sam Rivera", "daily")
    made = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    answer(case_with_message("S-1"), 5, "Quick and kind", now=made)
    assert kudos.send_daily(made + timedelta(hours=13)) == 1
    db.session.commit()

    def no_work(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(kudos, "render_template", no_work)
    assert kudos.send_daily(made + timedelta(hours=14)) == 0


def test_top_kudos_for_the_digest(app, seeded):
    now = utcnow()
    answer(case_with_message("T-1", team="North"), 4, "Good", now=now - timedelta(hours=3))
    answer(case_with_message("T-2", team="North"), 5, "Best", now=now - timedelta(hours=2))
    answer(case_with_message("T-3", team="South"), 5, "Southern", now=now - timedelta(hours=1))
    answer(case_with_message("T-4", team="North"), 5, "Old", now=now - timedelta(days=9))
    starred = next(k for k in all_kudos() if k.comment == "Good")
    kudos.star(starred, agent_user("lead@example.com", None), now)
    db.session.commit()
    top = kudos.top_kudos(now - timedelta(days=7), now + timedelta(seconds=1))
    assert [k.text for k in top] == ["Good", "Southern", "Best"]
    assert top[0].starred and top[1].case == "T-3" and top[1].agent == "Sam Rivera"
    north = kudos.top_kudos(now - timedelta(days=7), now, teams=["North"], limit=5)
    assert [k.text for k in north] == ["Good", "Best"]
    with pytest.raises(ValueError, match="naive"):
        kudos.top_kudos(now.replace(tzinfo=None), now)


@pytest.fixture
def feed(app, seeded, users):
    """Kudos of Sam and Ana (North) and Bo (South); an agent for Sam and Bo."""
    agent_user("sam@example.com", "Sam Rivera", name="Sam")
    agent_user("bo@example.com", "Bo", name="Bo")
    now = utcnow()
    answer(case_with_message("F-1"), 5, "Sam was great", now=now - timedelta(hours=3))
    answer(case_with_message("F-2", agent_name="Bo", team="South"), 5, "Bo <script>x</script>",
           now=now - timedelta(hours=2))  # fmt: skip
    answer(case_with_message("F-3", agent_name="Bo", team="South"), 5, "Bo shared",
           now=now - timedelta(hours=1))  # fmt: skip
    answer(case_with_message("F-4", agent_name="Ana"), 5, "Ana shared", now=now)
    return {k.comment: k.id for k in all_kudos()}


def test_a_lead_stars_a_kudo_and_agents_see_the_starred_and_their_own(client, feed):
    assert sign_in(client, "lead@example.com").status_code == 303
    page = client.get("/dashboard/kudos").get_data(as_text=True)
    assert page.index("Bo shared") < page.index("Bo &lt;script&gt;") < page.index("Sam was great")
    assert "<script>x" not in page
    token = csrf_token(client, "/dashboard/kudos")
    starred = client.post(f"/dashboard/kudos/{feed['Bo shared']}/star",
                          data={"csrf_token": token, "team": "South"})  # fmt: skip
    assert starred.status_code == 303 and starred.headers["Location"].endswith("?team=South")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "star"))
    assert entry.entity_id == str(feed["Bo shared"]) and "Bo shared" not in entry.summary
    only = client.get("/dashboard/kudos?starred=1").get_data(as_text=True)
    assert "Bo shared" in only and "Sam was great" not in only and "★ starred" in only
    south = client.get("/dashboard/kudos?team=South").get_data(as_text=True)
    assert "Bo shared" in south and "Sam was great" not in south
    client.post(f"/dashboard/kudos/{feed['Ana shared']}/star", data={"csrf_token": token})
    client.post("/admin/sign-out", data={"csrf_token": token})

    # An agent: their own kudos and those starred for their team (North), not another
    # team's stars; the team filter offers their teams only.
    assert sign_in(client, "sam@example.com").status_code == 303
    mine = client.get("/dashboard/kudos").get_data(as_text=True)
    assert "Sam was great" in mine and "Ana shared" in mine
    assert "Bo shared" not in mine and "Bo &lt;script&gt;" not in mine
    assert '<option value="North"' in mine and '<option value="South"' not in mine
    assert "Bo shared" not in client.get("/dashboard/kudos?team=South&starred=1").text
    token = csrf_token(client, "/dashboard/kudos")
    assert client.post(f"/dashboard/kudos/{feed['Sam was great']}/star",
                       data={"csrf_token": token}).status_code == 403  # fmt: skip

    assert "Star for the team" not in mine
    client.post("/admin/sign-out", data={"csrf_token": token})
    assert sign_in(client, "bo@example.com").status_code == 303
    bos = client.get("/dashboard/kudos").get_data(as_text=True)
    assert "Bo shared" in bos and "Bo &lt;script&gt;" in bos and "Ana shared" not in bos


@pytest.mark.parametrize("role, star, feed_status", [
    ("admin", 303, 200), ("lead", 303, 200), ("manager", 403, 200), ("anonymous", 302, 302),
])  # fmt: skip
def test_who_may_star_and_read_the_feed(client, feed, role, star, feed_status):
    if role != "anonymous":
        assert sign_in(client, f"{role}@example.com").status_code == 303
    app_token = csrf_token(client, "/admin/sign-in")
    assert client.get("/dashboard/kudos").status_code == feed_status
    for action in ("star", "unstar"):
        reply = client.post(f"/dashboard/kudos/{feed['Sam was great']}/{action}",
                            data={"csrf_token": app_token})  # fmt: skip
        assert reply.status_code == star


def test_hostile_feed_filters_star_forms_and_ids_are_never_a_500(client, feed):
    assert sign_in(client, "lead@example.com").status_code == 303
    token = csrf_token(client, "/dashboard/kudos")
    for name, value in STRINGS.items():
        query = form_body({"team": value, "starred": value, "page": value}).decode()
        reply = client.get(f"/dashboard/kudos?{query}")
        assert reply.status_code == 200, name
        assert "<script>alert(1)" not in reply.get_data(as_text=True)
        body = form_body({"csrf_token": token, "team": value, "starred": value})
        for action in ("star", "unstar"):
            changed = client.post(f"/dashboard/kudos/{feed['Sam was great']}/{action}",
                                  data=body, content_type=FORM)  # fmt: skip
            assert changed.status_code == 303, name
    for name, segment in PATH_SEGMENTS.items():
        reply = client.post(f"/dashboard/kudos/{segment}/star", data={"csrf_token": token})
        assert reply.status_code == 404, name
