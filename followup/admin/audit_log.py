"""Console pages: the audit log (read): who changed which piece of configuration and when,
with the values before and after, newest first, 50 a page, filtered by entity and actor."""

import json

import sqlalchemy as sa
from flask import render_template, request

from followup.admin import bp
from followup.extensions import db
from followup.models import AuditEntry
from followup.web.pages import page_number

PER_PAGE = 50


def readable(values: dict | None) -> str:
    """Changed values as indented JSON (autoescaped where it is shown)."""
    if values is None:
        return ""
    return json.dumps(values, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@bp.get("/audit-log")
def audit_log():
    entity = request.args.get("entity", "").strip()[:30]
    actor = request.args.get("actor", "").strip()[:320]
    query = sa.select(AuditEntry)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if actor:
        query = query.where(sa.func.lower(AuditEntry.actor) == actor.lower())
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // PER_PAGE))
    page = page_number(request.args.get("page"), pages)
    rows = db.session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    entities = db.session.scalars(
        sa.select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)
    ).all()
    return render_template(
        "admin/audit_log.html",
        entries=rows,
        entities=entities,
        entity=entity,
        actor=actor,
        page=page,
        pages=pages,
        total=total,
        readable=readable,
    )
