"""The dashboard benchmark's generator at a small size: the rows it writes have the shape it
promises, the rollups it makes from its own facts are those rollups.rebuild() derives from
its raw rows, and the dashboard's JSON totals equal counts made straight from those rows."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from bench.generate import AGENTS, TEAMS, generate, prepare, rollup_contents, rollups_from_facts
from followup import rollups
from followup.extensions import db
from followup.models.base import utcnow
from tests.support.run import DB_BACKEND

pytestmark = pytest.mark.skipif(
    DB_BACKEND != "postgres", reason="the generator writes with PostgreSQL COPY"
)


@pytest.fixture
def year(app, database_url):
    """1,500 cases, then 500 more appended to the same year, rollups from the facts."""
    world = prepare(app)
    now = utcnow()
    first = generate(database_url, world, 1500, now, seed=1)
    more = generate(database_url, world, 500, now, seed=2)
    rollups_from_facts(database_url)
    return now, {table: first[table] + more[table] for table in first}


def _scalar(sql: str, **params):
    return db.session.scalar(sa.text(sql), params)


def test_generated_rows_have_the_promised_shape(year):
    now, made = year
    for table, count in made.items():
        assert _scalar(f"SELECT count(*) FROM {table}") == count
    assert made["cases"] == made["round_facts"] == 2000
    assert made["customers"] == 800
    assert 2.6 <= made["messages"] / 2000 <= 3.4
    assert 0.4 <= made["responses"] / 2000 <= 0.6
    assert _scalar("SELECT count(DISTINCT team) FROM cases") == len(TEAMS)
    assert _scalar("SELECT count(DISTINCT agent_name) FROM cases") > len(AGENTS) * 0.9
    assert _scalar("SELECT count(DISTINCT cadence_id) FROM cases") == 5
    assert _scalar("SELECT count(DISTINCT variant) FROM cases WHERE experiment IS NOT NULL") == 2
    kinds = db.session.execute(sa.text(
        "SELECT s.kind, count(*) FROM responses r JOIN surveys s ON s.id = r.survey_id "
        "WHERE r.recovery_id IS NULL GROUP BY s.kind")).all()  # fmt: skip
    assert {kind for kind, _ in kinds} == {"csat", "nps", "ces"}
    assert max(kinds, key=lambda k: k[1])[0] == "csat"
    first = _scalar("SELECT count(*) FROM responses WHERE recovery_id IS NULL")
    assert 0.08 <= made["recoveries"] / first <= 0.25  # ~15% negative first answers
    statuses = dict(db.session.execute(
        sa.text("SELECT status, count(*) FROM recoveries GROUP BY status")).all())  # fmt: skip
    assert statuses["recovered"] > statuses["escalated"] > 0
    assert {"sent", "cancelled", "suppressed"} <= set(
        db.session.scalars(sa.text("SELECT DISTINCT status FROM messages"))
    )
    assert _scalar("SELECT count(*) FROM messages WHERE delivery_status IN "
                   "('bounced', 'undelivered', 'failed')") > 0  # fmt: skip
    closed_days = _scalar("SELECT count(DISTINCT closed_at::date) FROM cases")
    assert closed_days > 300
    assert _scalar("SELECT max(closed_at) FROM cases") < now
    assert _scalar("SELECT min(closed_at) FROM cases") >= now - timedelta(days=366)
    weekday = _scalar("SELECT count(*) FROM cases WHERE extract(isodow FROM closed_at) < 6")
    assert weekday / 2000 > 5 / 7  # weekdays are busier than weekends
    # Ids continue from the tables' sequences: a row added the ordinary way does not collide.
    assert _scalar("SELECT nextval(pg_get_serial_sequence('cases', 'id'))") == 2001


def test_rebuild_from_the_raw_rows_gives_the_generated_rollups(year, database_url):
    now, _ = year
    generated = rollup_contents(database_url)
    assert generated, "the generated rollups are not empty"
    rollups.rebuild(now)
    assert rollup_contents(database_url) == generated


def test_dashboard_totals_equal_counts_from_the_raw_rows(year, as_manager):
    now, _ = year
    today = now.date()
    period = f"from={(today - timedelta(days=366)).isoformat()}&to={today.isoformat()}"
    sums = as_manager.get(f"/dashboard/figures.json?{period}").get_json()["sums"]
    first = ("SELECT DISTINCT ON (case_id) r.*, s.kind, s.negative_min, s.negative_max "
             "FROM responses r JOIN surveys s ON s.id = r.survey_id WHERE r.recovery_id IS NULL "
             "ORDER BY case_id, r.created_at, r.id")  # fmt: skip
    raw = {
        "closed": _scalar("SELECT count(*) FROM cases"),
        "reopened": _scalar("SELECT count(*) FROM cases WHERE status = 'open'"),
        "invited": _scalar(
            "SELECT count(DISTINCT m.case_id) FROM messages m JOIN cadence_steps s ON "
            "s.id = m.step_id WHERE s.survey_id IS NOT NULL AND m.recovery_id IS NULL "
            "AND m.status = 'sent'"
        ),
        "responded": _scalar(f"SELECT count(*) FROM ({first}) f"),
        "csat_n": _scalar(f"SELECT count(*) FROM ({first}) f WHERE kind = 'csat'"),
        "csat_positive": _scalar(
            f"SELECT count(*) FROM ({first}) f WHERE kind = 'csat' AND score >= 4"
        ),
        "negative": _scalar(
            f"SELECT count(*) FROM ({first}) f WHERE score BETWEEN negative_min AND negative_max"
        ),
        "recovered": _scalar("SELECT count(*) FROM recoveries WHERE status = 'recovered'"),
        "escalated": _scalar("SELECT count(*) FROM recoveries WHERE status = 'escalated'"),
        "gesture_cost_cents": _scalar(
            "SELECT sum(cost_cents) FROM gestures WHERE status <> 'failed'"
        ),
        "checkin_answered": _scalar(
            "SELECT count(DISTINCT recovery_id) FROM responses WHERE recovery_id IS NOT NULL"
        ),
    }
    assert {name: sums[name] for name in raw} == raw
    assert raw["closed"] == 2000 and raw["negative"] > 0 and raw["recovered"] > 0

    team = TEAMS[1]
    team_sums = as_manager.get(f"/dashboard/figures.json?{period}&team={team}").get_json()["sums"]
    assert team_sums["closed"] == _scalar("SELECT count(*) FROM cases WHERE team = :t", t=team)
    assert 0 < team_sums["closed"] < 2000
