"""Console pages: the audit log (read): who changed which piece of configuration and when,
with the values before and after, newest first, 50 a page, filtered by entity and actor."""

import json

import sqlalchemy as sa
from flask import render_template, request

from followup.admin import bp
from followup.extensions import db
from followup.models import AuditEntry
from followup.web.pages import paged, query_text

PER_PAGE = 50


def readable(values: dict | None) -> str:
    """Changed values as indented JSON (autoescaped where it is shown)."""
    if values is None:
        return ""
    return json.dumps(values, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@bp.get("/audit-log")
def audit_log():
    entity = query_text("entity", 30)
    actor = query_text("actor", 320)
    query = sa.select(AuditEntry)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if actor:
        query = query.where(sa.func.lower(AuditEntry.actor) == actor.lower())
    order = (AuditEntry.at.desc(), AuditEntry.id.desc())
    listed = paged(query, order, PER_PAGE, request.args.get("page"))
    entities = db.session.scalars(
        sa.select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)
    ).all()
    return render_template(
        "admin/audit_log.html",
        entries=listed.rows,
        entities=entities,
        entity=entity,
        actor=actor,
        page=listed.page,
        pages=listed.pages,
        total=listed.total,
        readable=readable,
    )
