"""The dashboard's CSV exports, streamed so a year of data never sits in memory: the answers
(/dashboard/export/answers.csv), the cases behind a number (/dashboard/export/cases.csv) and
the figures page's tables (/dashboard/export/<agent|team|channel|cadence|reason|trends>.csv,
from its queries), with the dashboard's filters. Rows are read in chunks (a server-side
cursor on PostgreSQL) and written by followup.web.csv_files (a cell a spreadsheet would run
as a formula gets a leading apostrophe)."""

import json
from collections.abc import Iterator

import sqlalchemy as sa
from flask import abort, request

from followup.dashboard import bp, queries, routes
from followup.dashboard.cases import (
    COLUMNS,
    narrowed,
    read_drill,
    rounds_query,
    row_values,
)
from followup.dashboard.filters import parse
from followup.extensions import db
from followup.metrics import Rate
from followup.models import Cadence, Case, Survey
from followup.models.base import utcnow
from followup.models.figures import RoundFact
from followup.models.surveys import Response as Answer
from followup.web.csv_files import csv_lines, in_chunks, streamed
from surveys.scoring import verdict

ANSWER_COLUMNS = ("case", "round", "closed at", "team", "agent", "channel", "cadence", "survey",
                  "score", "verdict", "comment", "reasons", "extra answers", "answered at",
                  "answered by", "recovery check-in")  # fmt: skip


TABLES = (*queries.BREAKDOWNS, "reason", "trends")


def _name(kind: str, start, end, extra: str = "") -> str:
    return f"{kind}{'-' + extra if extra else ''}-{start}-to-{end}.csv"


@bp.get("/export/cases.csv")
def export_cases():
    drill = read_drill(request.args)
    names = queries.cadence_names(db.session.scalars(sa.select(Cadence.lineage).distinct()))

    def shape(fact: RoundFact, external_id: str) -> tuple:
        return row_values(fact, external_id, names)

    filename = _name("cases", drill.filters.start, drill.filters.end, drill.metric)
    return streamed(filename, csv_lines(COLUMNS, in_chunks(rounds_query(drill), shape)))


@bp.get("/export/answers.csv")
def export_answers():
    chosen = parse(request.args, utcnow().date())
    names = queries.cadence_names(db.session.scalars(sa.select(Cadence.lineage).distinct()))
    surveys = {survey.id: survey for survey in db.session.scalars(sa.select(Survey))}
    query = narrowed(
        sa.select(Answer, RoundFact, Case.external_id)
        .join(RoundFact, (RoundFact.case_id == Answer.case_id) & (RoundFact.round == Answer.round))
        .join(Case, Case.id == Answer.case_id)
        .order_by(RoundFact.closed_at, Answer.id),
        chosen,
    )

    def shape(answer: Answer, fact: RoundFact, external_id: str) -> tuple:
        survey = surveys[answer.survey_id]
        return (
            external_id,
            answer.round,
            fact.closed_at,
            fact.team,
            fact.agent,
            fact.channel,
            names.get(fact.cadence, fact.cadence),
            survey.key,
            answer.score,
            verdict(survey, answer.score, answer.comment),
            answer.comment,
            ", ".join(answer.reason_codes or []),
            json.dumps(answer.answers or {}, ensure_ascii=False, sort_keys=True),
            answer.created_at,
            answer.channel,
            answer.recovery_id is not None,
        )

    lines = csv_lines(ANSWER_COLUMNS, in_chunks(query, shape))
    return streamed(_name("answers", chosen.start, chosen.end), lines)


def rate_cells(rate: Rate) -> tuple:
    """A rate as its percentage (one decimal; empty without a denominator), numerator,
    denominator and whether the sample is too small to rank."""
    percent = "" if rate.value is None else round(100 * rate.value, 1)
    return percent, rate.numerator, rate.denominator, rate.small


def rate_header(label: str, numerator: str, denominator: str) -> tuple:
    return f"{label} %", f"{label}: {numerator}", f"{label}: {denominator}", f"{label}: small"


def table_rows(table: str, view: routes.View) -> tuple[tuple, Iterator[tuple]]:
    """A figures table's header and rows, in the page's order."""
    chosen = view.filters
    if table == "trends":
        rates = (("CSAT", "csat_positive", "csat_n", "csat"),
                 ("Response rate", "responded", "delivered", "response"),
                 ("Recovery rate", "recovered", "negative", "recovery"))  # fmt: skip
        header = ("week from", "week to", *(h for r in rates for h in rate_header(*r[:3])))
        rows = (
            (week["start"], week["end"], *(c for r in rates for c in rate_cells(week[r[3]])))
            for week in queries.trends(chosen)
        )
        return header, rows
    if table == "reason":
        header = ("reason", "label", "negative", "previous period", "rising",
                  *rate_header("Recovery rate", "recovered", "negative"))  # fmt: skip
        rows = (
            (
                r["reason"],
                r["label"],
                r["negative"],
                r["previous"],
                r["rising"],
                *rate_cells(r["recovery"]),
            )  # fmt: skip
            for r in queries.reasons(chosen, view.sort, view.descending)
        )
        return header, rows
    columns = queries.COLUMNS.values()
    header = (table, "closed", *(h for column in columns for h in rate_header(*column)))
    rows = (
        (
            row.label,
            row.counts["closed"],
            *(c for k in queries.COLUMNS for c in rate_cells(row.rates[k])),
        )
        for row in queries.breakdown(chosen, table, view.sort, view.descending)
    )
    return header, rows


@bp.get("/export/<table>.csv")
def export_table(table: str):
    if table not in TABLES:
        abort(404)
    view = routes.read_view()
    header, rows = table_rows(table, view)
    return streamed(_name(table, view.filters.start, view.filters.end), csv_lines(header, rows))
