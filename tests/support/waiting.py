"""Waiting on a condition instead of a fixed time: what workers, sweeps, refreshes and browsers
do takes longer on a busy machine, so tests poll for the outcome under a generous ceiling; and
a request that waits on a concurrent transaction's row lock."""

import threading
import time

import sqlalchemy as sa


def wait_until(condition, timeout: float = 60, what="the condition", interval: float = 0.1):
    """Poll `condition` until it is true; after `timeout` seconds an AssertionError names
    `what` (a string, or a function giving one then, such as a process's log so far)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {said}")
        time.sleep(interval)


def answer_while_another_inserts(app, table, values: dict, send):
    """The answer of `send()`, made on a thread while another connection inserts `values`
    into `table` and commits only once `send` waits on a lock (PostgreSQL): the request
    meets a row that a concurrent transaction is committing."""
    other = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    answers = []
    request = threading.Thread(target=lambda: answers.append(send()))
    with other.connect() as conn:
        with conn.begin():
            conn.execute(sa.insert(table).values(**values))
            request.start()
            waiting = sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            wait_until(lambda: conn.execute(waiting).scalar(), 60, "the request to wait")
        request.join(60)
    other.dispose()
    [answer] = answers
    return answer
