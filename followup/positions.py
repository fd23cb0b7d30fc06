"""Ordered lists a person arranges (recovery rules, root causes): rows with a unique integer
`position`; a new row goes last, moving one swaps it with its neighbour. Operations flush; the
caller commits."""

from typing import Any, Literal

import sqlalchemy as sa

from followup.extensions import db


def add_last(row: Any) -> None:
    """Add a row after every other of its table. Raises IntegrityError when another took that
    place (or another unique value) at the same moment."""
    model = type(row)
    last = db.session.scalar(sa.select(sa.func.max(model.position)))
    row.position = 0 if last is None else last + 1
    db.session.add(row)
    db.session.flush()


def neighbour(row: Any, direction: Literal["up", "down"] | str) -> Any | None:
    """The row just before ("up") or after ("down") this one, if any."""
    model = type(row)
    if direction == "up":
        nearest = sa.select(model).where(model.position < row.position)
        nearest = nearest.order_by(model.position.desc())
    else:
        nearest = sa.select(model).where(model.position > row.position)
        nearest = nearest.order_by(model.position)
    return db.session.scalar(nearest.limit(1))


def swap_positions(row: Any, other: Any) -> None:
    """Exchange two rows' places without two ever sharing one (positions are unique, checked
    row by row): park one below every position first."""
    model = type(row)
    first, second = row.position, other.position
    lowest = db.session.execute(sa.select(sa.func.min(model.position))).scalar_one()
    row.position = min(lowest, 0) - 1
    db.session.flush()
    other.position = first
    db.session.flush()
    row.position = second
    db.session.flush()
