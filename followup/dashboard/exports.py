"""The dashboard's CSV exports, streamed so a year of data never sits in memory: the answers
(/dashboard/export/answers.csv) and the cases behind a number (/dashboard/export/cases.csv),
with the dashboard's filters. Rows are read in chunks (a server-side cursor on PostgreSQL);
a cell a spreadsheet would run as a formula gets a leading apostrophe."""

import csv
import io
import json
from collections.abc import Generator, Iterable, Iterator
from datetime import datetime

import sqlalchemy as sa
from flask import Response, request, stream_with_context

from followup.dashboard import bp
from followup.dashboard.cases import (
    COLUMNS,
    cadence_names,
    narrowed,
    read_drill,
    read_filters,
    rounds_query,
    row_values,
)
from followup.extensions import db
from followup.models import Case, Survey
from followup.models.figures import RoundFact
from followup.models.surveys import Response as Answer
from surveys.responses import verdict

CHUNK = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ANSWER_COLUMNS = ("case", "round", "closed at", "team", "agent", "channel", "cadence", "survey",
                  "score", "verdict", "comment", "reasons", "extra answers", "answered at",
                  "answered by", "recovery check-in")  # fmt: skip


def cell(value) -> str | int:
    """A value as a CSV cell: times in ISO 8601 UTC, text that a spreadsheet would take for
    a formula (= + - @) neutralised with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(header: Iterable[str], rows: Generator) -> Iterator[bytes]:
    """The header, then each row, as UTF-8 CSV a few hundred rows at a time; closing it
    closes the rows (and their cursor)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    try:
        for number, row in enumerate(rows, 1):
            writer.writerow([cell(value) for value in row])
            if number % 200 == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
    finally:
        rows.close()


def streamed(filename: str, lines: Iterator[bytes]) -> Response:
    """A CSV attachment sent as it is written."""
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def in_chunks(query, shape) -> Generator:
    """Each row of the query shaped into cells, the rows fetched CHUNK at a time (a
    server-side cursor on PostgreSQL), the cursor closed when the export ends or stops."""
    result = db.session.execute(query.execution_options(yield_per=CHUNK))
    try:
        for row in result:
            yield shape(*row)
    finally:
        result.close()


def _name(kind: str, start, end, extra: str = "") -> str:
    return f"{kind}{'-' + extra if extra else ''}-{start}-to-{end}.csv"


@bp.get("/export/cases.csv")
def export_cases():
    drill = read_drill(request.args)
    names = cadence_names()

    def shape(fact: RoundFact, external_id: str) -> tuple:
        return row_values(fact, external_id, names)

    filename = _name("cases", drill.filters.start, drill.filters.end, drill.metric)
    return streamed(filename, csv_lines(COLUMNS, in_chunks(rounds_query(drill), shape)))


@bp.get("/export/answers.csv")
def export_answers():
    chosen = read_filters(request.args)
    names = cadence_names()
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
