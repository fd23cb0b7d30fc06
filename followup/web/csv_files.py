"""CSV files the console sends and takes: rows streamed as UTF-8 CSV, read in chunks (a
server-side cursor on PostgreSQL), with every cell a spreadsheet would run as a formula
neutralised by a leading apostrophe (CSV injection)."""

import csv
import io
from collections.abc import Generator, Iterable, Iterator
from datetime import datetime

from flask import Response, stream_with_context

from followup.extensions import db

CHUNK = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def uncell(text: str) -> str:
    """A text cell as it was before cell() neutralised it (an export read back in)."""
    return text[1:] if text[:1] == "'" and text[1:2].startswith(FORMULA_STARTS) else text


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
