"""Counting the SQL a block of code issues (the tests that hold a page or a request to a
number of statements)."""

from contextlib import contextmanager

import sqlalchemy as sa

from followup.extensions import db


@contextmanager
def statements():
    """The SQL statements issued inside the block."""
    issued: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        issued.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield issued
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
