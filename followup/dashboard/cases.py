"""The dashboard's drill-down: the case rounds behind a number (/dashboard/cases?metric=...
with the dashboard's filters, newest first, 50 a page) and one case's timeline for people
(/dashboard/cases/<external_id>), shaped from the case's history (followup.case_history)."""

import json
import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import JSONB
from werkzeug.datastructures import MultiDict

from followup.case_history import case_history
from followup.dashboard import bp, filters, queries
from followup.extensions import db
from followup.languages import translatable
from followup.models import Case
from followup.models.base import utcnow
from followup.models.figures import RoundFact, reason_rollup_for, rollup_for
from followup.web.case_input import EXTERNAL_ID_PATTERN
from followup.web.pages import page_count, page_number, when

# The counters a drill-down can list the rounds of, as the list's heading says them (the page
# translates it).
METRICS = {
    "closed": translatable("Cases closed"),
    "invited": translatable("Cases invited to a survey"),
    "delivered": translatable("Cases whose survey invitation was delivered"),
    "responded": translatable("Cases whose survey was answered"),
    "negative": translatable("Cases whose first answer was negative"),
    "gesture": translatable("Cases given a goodwill gesture"),
    "checkin_answered": translatable("Cases whose recovery check-in was answered"),
    "recovered": translatable("Cases recovered"),
    "escalated": translatable("Cases escalated (still negative)"),
    "reopened": translatable("Cases reopened after closing"),
}
PAGE_SIZE = 50
# The drill-down's columns, in order (the list and cases.csv).
COLUMNS = ("case", "closed at", "team", "agent", "channel", "cadence", "score", "reasons",
           "outcome")  # fmt: skip


@dataclass(frozen=True)
class Drill:
    """What a drill-down lists: the dashboard's filters and the counter that must be 1."""

    filters: filters.Filters
    metric: str


def read_drill(args: MultiDict) -> Drill:
    """The filters and ?metric= (default closed), else FilterError naming the argument."""
    metric = (args.get("metric") or "closed").strip()
    if metric not in METRICS:
        raise filters.FilterError("metric", translatable("%(metric)s is not one of %(metrics)s"),
                                  metric=repr(metric[:50]), metrics=", ".join(METRICS))  # fmt: skip
    return Drill(filters.parse(args, utcnow().date()), metric)


def names_reason(column, reason: str):
    """Whether a JSON list column holds this reason code (PostgreSQL or SQLite)."""
    if db.engine.dialect.name == "postgresql":
        return sa.cast(column, JSONB).contains([reason])
    each = sa.func.json_each(column).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == reason))


def narrowed(query, chosen: filters.Filters):
    """The query limited to round facts of the period, dimensions and reason chosen."""
    query = query.where(RoundFact.day.between(chosen.start, chosen.end))
    for name, value in chosen.dimensions().items():
        query = query.where(getattr(RoundFact, name) == value)
    if chosen.reason:
        query = query.where(names_reason(RoundFact.reasons, chosen.reason))
    return query


def rounds_query(drill: Drill):
    """The rounds behind the number, newest first: (RoundFact, case number)."""
    query = (
        sa.select(RoundFact, Case.external_id)
        .join(Case, Case.id == RoundFact.case_id)
        .where(RoundFact.counts[drill.metric].as_integer() == 1)
        .order_by(RoundFact.closed_at.desc(), RoundFact.id.desc())
    )
    return narrowed(query, drill.filters)


def day_counts(drill: Drill) -> list[tuple[date, int]] | None:
    """The rounds behind the number per day, newest first, from the rollups (for a reason,
    the reasons rollup, which counts negative and recovered rounds only); None when a reason
    narrows another counter."""
    chosen = drill.filters
    if not chosen.reason:
        model, clauses = rollup_for(chosen.dimensions()), []
    elif drill.metric in ("negative", "recovered"):
        model = reason_rollup_for(chosen.dimensions())
        clauses = [model.reason == chosen.reason]
    else:
        return None
    rounds = sa.func.sum(getattr(model, drill.metric))
    clauses += queries.rollup_where(model, chosen, chosen.start, chosen.end)
    found = db.session.execute(
        sa.select(model.day, rounds)
        .where(*clauses)
        .group_by(model.day)
        .having(rounds > 0)
        .order_by(model.day.desc())
    )
    return [(day, int(count)) for day, count in found]


def count_of_facts(drill: Drill) -> int:
    """The rounds behind the number, counted in the facts of the period."""
    query = narrowed(sa.select(sa.func.count()).select_from(RoundFact), drill.filters)
    return db.session.scalar(query.where(RoundFact.counts[drill.metric].as_integer() == 1)) or 0


def page_of(drill: Drill, page: int, counts: list[tuple[date, int]] | None):
    """The page's rounds: from the days that hold them when the rollups' day counts say
    which (a few thousand fact rows, however long the period), else from the whole period."""
    query, skip = rounds_query(drill), (page - 1) * PAGE_SIZE
    if counts is not None:
        newer = held = 0  # rounds of the days newer than the page's, and of the page's days
        days = []
        for day, count in counts:
            if not days and newer + count <= skip:
                newer += count
                continue
            days.append(day)
            held += count
            if newer + held >= skip + PAGE_SIZE:
                break
        if not days:
            return []
        query, skip = query.where(RoundFact.day.between(days[-1], days[0])), skip - newer
    return db.session.execute(query.limit(PAGE_SIZE).offset(skip)).all()


def outcome(counts: dict) -> str:
    """What became of a negative round: recovered, escalated or open (else nothing)."""
    for name in ("recovered", "escalated"):
        if counts.get(name):
            return name
    return "open" if counts.get("negative") else ""


def row_values(fact: RoundFact, external_id: str, names: dict[str, str]) -> tuple:
    """A round's cells in COLUMNS order."""
    return (
        external_id,
        fact.closed_at,
        fact.team,
        fact.agent,
        fact.channel,
        names.get(fact.cadence, fact.cadence),
        fact.first_score,
        ", ".join(map(str, fact.reasons or [])),
        outcome(fact.counts or {}),
    )


@bp.get("/cases")
def cases():
    drill = read_drill(request.args)
    counts = day_counts(drill)
    total = count_of_facts(drill) if counts is None else sum(count for _day, count in counts)
    pages = page_count(total, PAGE_SIZE)
    page = page_number(request.args.get("page"), pages)
    found = page_of(drill, page, counts)
    names = queries.cadence_names({fact.cadence for fact, _ in found})
    return render_template(
        "dashboard/cases.html",
        drill=drill,
        heading=METRICS[drill.metric],
        metrics=METRICS,
        rows=[row_values(fact, external_id, names) for fact, external_id in found],
        columns=COLUMNS,
        total=total,
        page=page,
        pages=pages,
        args=drill.filters.query(),
        when=when,
    )


def readable(value) -> str:
    """A timeline detail's value as a person reads it (yes, no and none in their language)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value) or _("none")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def detail_lines(detail: dict | None) -> list[tuple[str, str]]:
    """A timeline event's detail as (label, text) lines: "reason_codes" reads "reason codes"."""
    return [(key.replace("_", " "), readable(value)) for key, value in (detail or {}).items()]


@bp.get("/cases/<external_id>")
def case(external_id: str):
    found = None
    if re.fullmatch(EXTERNAL_ID_PATTERN, external_id):  # else it names no case
        found = db.session.scalar(sa.select(Case).where(Case.external_id == external_id))
    if found is None:
        abort(404)
    history = case_history(found, utcnow())
    document = {
        "case": found.to_dict(),
        "customer": found.customer.to_dict(),
        "messages": [
            m.to_dict() | {"subject": m.subject, "body": m.body} for m in history.messages
        ],
        "responses": [r.to_dict() for r in history.responses],
        "recoveries": history.recoveries,
        "timeline": [e.to_dict() for e in history.timeline],
    }
    rounds = sorted(
        {m["round"] for m in document["messages"]} | {r["round"] for r in document["responses"]}
    )
    return render_template(
        "dashboard/case.html",
        doc=document,
        rounds=rounds,
        when=when,
        detail_lines=detail_lines,
        readable=readable,
    )
