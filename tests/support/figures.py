"""The figures behind the dashboard: fact rows and their daily rollups written directly,
bulk cases, and the rollups refreshed from the raw rows."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from followup import rollups
from followup.extensions import db
from followup.models import Case, Customer
from followup.models.base import utcnow
from followup.models.figures import COUNTERS, DIMENSIONS, FIGURE_ROLLUPS, REASON_ROLLUPS, RoundFact
from tests.support.cases import later

TODAY = utcnow().date()


def round_fact(case_id: int, day: date, team="North", agent="ana", channel="email",
               cadence="", score: int | None = None, reasons=(), recovered_after=None,
               **counts) -> RoundFact:  # fmt: skip
    """One closed round; counts default to a closed, invited, delivered round."""
    values = dict.fromkeys(COUNTERS, 0) | {"closed": 1, "invited": 1, "delivered": 1}
    if score is not None:
        values |= {"responded": 1, "csat_n": 1, "csat_positive": int(score >= 4),
                   "negative": int(score <= 2)}  # fmt: skip
    if recovered_after is not None:
        values |= {"recovered": 1, "recovery_seconds": recovered_after, "checkin_answered": 1}
    values |= counts
    closed_at = datetime.combine(day, time(12), UTC)
    return RoundFact(
        case_id=case_id, round=1, closed_at=closed_at, day=day, team=team, agent=agent,
        channel=channel, cadence=cadence, survey_kind="csat", first_score=score,
        reasons=list(reasons), counts=values, recovery_seconds=recovered_after,
    )  # fmt: skip


def roll_up(facts: list[RoundFact]) -> None:
    """Store the rounds and their daily sums in every rollup, as the rollups would."""
    db.session.add_all(facts)
    add_rollups(facts)
    db.session.commit()


def roll_up_stored() -> None:
    """Every rollup summed again from the stored fact rows (as the rollups keep them)."""
    for model in (*FIGURE_ROLLUPS, *REASON_ROLLUPS):
        db.session.execute(sa.delete(model))
    add_rollups(list(db.session.scalars(sa.select(RoundFact))))
    db.session.commit()


def add_rollups(facts: list[RoundFact]) -> None:
    """The daily sums of these rounds in every figure rollup and every reasons rollup."""
    reasons: dict[tuple, Counter] = {}
    for fact in facts:
        key = (fact.day, *(getattr(fact, d) for d in DIMENSIONS))
        if fact.counts["negative"]:
            for reason in fact.reasons:
                reasons.setdefault((*key, reason), Counter()).update(
                    {"negative": 1, "recovered": fact.counts["recovered"]}
                )
    for model in FIGURE_ROLLUPS:
        sums: dict[tuple, Counter] = {}
        for fact in facts:
            key = (fact.day, *(getattr(fact, d) for d in model.dimensions))
            sums.setdefault(key, Counter()).update(fact.counts)
        for (day, *dims), counts in sums.items():
            db.session.add(model(day=day, **dict(zip(model.dimensions, dims, strict=True)),
                                 **counts))  # fmt: skip
    for model in REASON_ROLLUPS:
        lean: dict[tuple, Counter] = {}
        for (day, *dims, reason), sums in reasons.items():
            values = dict(zip(DIMENSIONS, dims, strict=True))
            key = (day, *(values[d] for d in model.dimensions), reason)
            lean.setdefault(key, Counter()).update(sums)
        for (day, *dims, reason), sums in lean.items():
            db.session.add(model(day=day, **dict(zip(model.dimensions, dims, strict=True)),
                                 reason=reason, **sums))  # fmt: skip


def add_cases(count: int, prefix: str = "C") -> list[int]:
    """`count` closed cases of one customer (bulk inserts); their ids in order."""
    customer = Customer(name="Bulk Customer", email=f"{prefix.lower()}@example.com")
    db.session.add(customer)
    db.session.flush()
    now = utcnow()
    db.session.execute(
        sa.insert(Case),
        [dict(external_id=f"{prefix}-{n}", customer_id=customer.id, subject="Bulk",
              status="closed", round=1, tags=[], priority="normal", created_at=now,
              updated_at=now) for n in range(1, count + 1)],
    )  # fmt: skip
    return list(
        db.session.scalars(
            sa.select(Case.id).where(Case.external_id.like(f"{prefix}-%")).order_by(Case.id)
        )
    )


def add_facts(case_ids: list[int], ago: timedelta = timedelta(days=1), **values) -> None:
    """A fact row for round 1 of each case, closed `ago` before now and a second apart (the
    last case the newest); `counts` are given as keyword COUNTERS (closed is always 1)."""
    counts = {name: values.pop(name) for name in list(values) if name in COUNTERS}
    counts = {name: 0 for name in COUNTERS} | {"closed": 1} | counts
    start = utcnow() - ago - timedelta(seconds=len(case_ids))
    rows = []
    for n, case_id in enumerate(case_ids):
        closed_at = start + timedelta(seconds=n)
        rows.append({"case_id": case_id, "round": 1, "closed_at": closed_at,
                     "day": closed_at.date(), "reasons": [], "counts": counts,
                     "team": "", "agent": "", "channel": "", "cadence": "", "variant": "",
                     "experiment": "", "survey_id": 0, "survey_kind": "", **values})  # fmt: skip
    db.session.execute(sa.insert(RoundFact), rows)


CUSTOMERS = [  # (case, team, agent, first answer, reasons, check-in answer)
    ("R-1", "Billing", "Sam Rivera", 5, [], None),
    ("R-2", "Billing", "Sam Rivera", 1, ["slow"], 5),
    ("R-3", "Shipping", "Lee Chen", 2, ["slow", "not_solved"], 1),
    ("R-4", "Shipping", "Lee Chen", None, [], None),
]


def refresh_all():
    """Refresh the rollups until nothing is left to refresh (a month ahead, no lag)."""
    db.session.expire_all()
    while rollups.refresh(later(days=30), lag_seconds=0):
        pass
