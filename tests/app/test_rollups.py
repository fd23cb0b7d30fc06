"""The figures' rollups, derived from raw rows made through the real paths (API closes, the
outbox, the survey page, the recovery loop), checked against counts made here from the raw
rows; kept right as answers change and cases reopen; a rebuild agrees with the increments."""

import threading

import pytest
import sqlalchemy as sa

from followup import rollups
from followup.extensions import db
from followup.models import (
    Case,
    DailyFigure,
    DailyReason,
    Gesture,
    Recovery,
    Response,
    RoundFact,
)
from followup.models.base import utcnow
from followup.models.figures import COUNTERS, FIGURE_ROLLUPS, DailyReasonTotal
from tests.support.answers import answer_on_page, survey_token
from tests.support.cases import close, later
from tests.support.figures import refresh_all
from tests.support.run import DB_BACKEND


def totals(**dimensions) -> dict[str, int]:
    query = sa.select(*(sa.func.coalesce(sa.func.sum(getattr(DailyFigure, c)), 0)
                        for c in COUNTERS)).filter_by(**dimensions)  # fmt: skip
    return dict(zip(COUNTERS, db.session.execute(query).one(), strict=True))


def test_rollups_count_what_the_raw_rows_say(four_rounds):
    refresh_all()
    first = {}  # each round's first cadence answer, from the raw rows
    for response in db.session.scalars(
        sa.select(Response).where(Response.recovery_id.is_(None)).order_by(Response.id)
    ):
        first.setdefault(response.case_id, response)
    scores = [r.score for r in first.values()]
    costs = db.session.scalars(sa.select(Gesture.cost_cents)).all()
    reopened = db.session.scalar(sa.select(sa.func.count()).where(Case.status == "open"))
    [recovered] = db.session.scalars(sa.select(Recovery).where(Recovery.status == "recovered"))
    seconds = int((recovered.outcome_at - recovered.started_at).total_seconds())
    assert totals() == {
        **dict.fromkeys(COUNTERS, 0),
        "closed": 4, "invited": 4, "delivered": 4, "responded": len(first),
        "csat_n": len(scores), "csat_positive": sum(s >= 4 for s in scores),
        "negative": sum(s <= 2 for s in scores), "gesture": len(costs),
        "gesture_cost_cents": sum(costs), "checkin_answered": 2, "recovered": 1,
        "escalated": 1, "recovery_seconds": seconds, "reopened": reopened,
    }  # fmt: skip
    assert (len(first), scores.count(5), reopened, len(costs)) == (3, 1, 1, 2)

    assert totals(team="Billing")["closed"] == 2 and totals(team="Billing")["recovered"] == 1
    assert totals(agent="Lee Chen")["escalated"] == 1
    assert totals(channel="email")["invited"] == 4
    reasons = dict(
        db.session.execute(
            sa.select(DailyReason.reason, sa.func.sum(DailyReason.negative))
            .group_by(DailyReason.reason)
        ).all()
    )  # fmt: skip
    assert reasons == {"slow": 2, "not_solved": 1}
    recovered_slow = db.session.scalar(
        sa.select(sa.func.sum(DailyReason.recovered)).where(DailyReason.reason == "slow")
    )
    assert recovered_slow == 1
    fact = db.session.scalar(
        sa.select(RoundFact).join(Case, Case.id == RoundFact.case_id)
        .where(Case.external_id == "R-3")
    )  # fmt: skip
    assert (fact.first_score, fact.reasons, fact.survey_kind) == (2, ["slow", "not_solved"], "csat")
    assert fact.cadence and fact.counts["escalated"] == 1


def test_changed_answers_and_new_rounds_move_the_rollups_by_the_difference(
    app, four_rounds, seeded
):
    refresh_all()
    token = survey_token(app, "r-1@example.com")
    assert answer_on_page(four_rounds, token, 3).status_code == 303  # changed: 5 -> 3
    four_rounds.post("/api/v1/cases/R-4/reopen", headers=seeded["auth"])
    refresh_all()
    assert totals()["csat_positive"] == 0 and totals()["responded"] == 3
    assert totals()["reopened"] == 2
    incremental = sorted(tuple(row) for row in db.session.execute(sa.select(
        DailyFigure.day, DailyFigure.team, DailyFigure.agent, DailyFigure.cadence,
        *(getattr(DailyFigure, c) for c in COUNTERS))))  # fmt: skip

    rollups.rebuild(later(days=30))
    rebuilt = sorted(tuple(row) for row in db.session.execute(sa.select(
        DailyFigure.day, DailyFigure.team, DailyFigure.agent, DailyFigure.cadence,
        *(getattr(DailyFigure, c) for c in COUNTERS))))  # fmt: skip
    assert rebuilt == incremental


def test_events_younger_than_the_lag_wait_for_the_next_refresh(app, client, seeded):
    close(client, seeded["auth"], {"external_id": "L-1", "customer": {"email": "l@example.com"}})
    assert rollups.refresh(utcnow()) == 0  # younger than 30 s
    assert totals()["closed"] == 0
    assert rollups.refresh(later(minutes=1)) > 0
    assert totals()["closed"] == 1
    assert rollups.refresh(later(minutes=1)) == 0  # nothing new: nothing counted twice
    assert totals()["closed"] == 1


@pytest.mark.skipif(DB_BACKEND != "postgres", reason="needs PostgreSQL's row locks")
def test_refreshes_at_the_same_moment_count_each_round_once(app, four_rounds):
    errors = []

    def refresh():
        try:
            with app.app_context():
                while rollups.refresh(later(days=30), lag_seconds=0, batch=7):
                    pass
                db.session.remove()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.expire_all()
    assert totals()["closed"] == 4 and totals()["recovered"] == 1


def test_the_leaner_rollups_are_the_full_one_summed(four_rounds, seeded):
    refresh_all()
    four_rounds.post("/api/v1/cases/R-4/reopen", headers=seeded["auth"])  # one more change
    refresh_all()
    for model in FIGURE_ROLLUPS:
        keys = [DailyFigure.day, *(getattr(DailyFigure, d) for d in model.dimensions)]
        full = db.session.execute(
            sa.select(*keys, *(sa.func.sum(getattr(DailyFigure, c)) for c in COUNTERS))
            .group_by(*keys)
        ).all()  # fmt: skip
        lean = db.session.execute(sa.select(
            model.day, *(getattr(model, d) for d in model.dimensions),
            *(getattr(model, c) for c in COUNTERS)))  # fmt: skip
        assert sorted(tuple(r) for r in lean) == sorted(tuple(r) for r in full), model.__name__


def test_the_reason_totals_are_the_reasons_summed(four_rounds, seeded):
    refresh_all()
    four_rounds.post("/api/v1/cases/R-3/reopen", headers=seeded["auth"])  # a negative round
    refresh_all()
    keys = (DailyReason.day, DailyReason.reason)
    full = db.session.execute(
        sa.select(*keys, sa.func.sum(DailyReason.negative), sa.func.sum(DailyReason.recovered))
        .group_by(*keys)
    ).all()  # fmt: skip
    lean = db.session.execute(sa.select(
        DailyReasonTotal.day, DailyReasonTotal.reason, DailyReasonTotal.negative,
        DailyReasonTotal.recovered)).all()  # fmt: skip
    assert sorted(tuple(r) for r in lean) == sorted(tuple(r) for r in full)
    assert {reason for _, reason, negative, _ in lean if negative} == {"slow", "not_solved"}


def test_a_rounds_channel_is_its_first_survey_message_that_was_not_reported_undelivered():
    whatsapp_refused = [("whatsapp", "sent", "undelivered"), ("sms", "sent", None)]
    assert rollups.round_channel(whatsapp_refused) == "sms"
    failed_at_once = [("sms", "failed", None), ("email", "sent", "delivered")]
    assert rollups.round_channel(failed_at_once) == "email"
    assert rollups.round_channel([("whatsapp", "sent", "failed")]) == "whatsapp"  # all refused
    assert rollups.round_channel([("sms", "suppressed", None)]) == ""
