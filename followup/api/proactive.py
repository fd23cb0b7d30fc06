"""Proactive outreach API views: the open proactive tasks (or all, or the done ones) and
completing one with its outcome. Reading needs a key of scope read; completing, scope full."""

import sqlalchemy as sa
from flask import jsonify, request
from sqlalchemy.orm import selectinload

from followup import proactive
from followup.api import bp
from followup.api.openapi import one_of, operation
from followup.api.schemas import ProactiveTaskDone, ProactiveTaskOut, ProactiveTasks
from followup.extensions import db
from followup.models import ProactiveTask
from followup.models.base import utcnow
from followup.models.users import ApiScope
from followup.proactive import ProactiveError
from followup.web.api_keys import AUTH_ERRORS
from followup.web.json_body import BODY_ERRORS, LIMIT, BadRequest, limit_arg, parse_body, row_or_404

STATUS_FILTERS = ("open", "done", "all")


@operation("get", "/api/v1/proactive-tasks",
           "Proactive outreach tasks: the open ones soonest due first (or ?status=done|all, the "
           "newest first)", scope=ApiScope.READ,
           responses={200: ("The tasks", ProactiveTasks), **AUTH_ERRORS,
                      422: ("Bad filter", None)},
           query={"status": ("open (default), done or all", one_of(STATUS_FILTERS, "open")),
                  "limit": LIMIT})  # fmt: skip
@bp.get("/proactive-tasks")
def proactive_tasks():
    status = request.args.get("status", "open")
    if status not in STATUS_FILTERS:
        raise BadRequest(422, "validation_failed", "status must be open, done or all")
    query = sa.select(ProactiveTask).options(selectinload(ProactiveTask.case))
    if status == "open":
        query = query.where(ProactiveTask.completed_at.is_(None)).order_by(
            ProactiveTask.due_at, ProactiveTask.id
        )
    else:
        if status == "done":
            query = query.where(ProactiveTask.completed_at.is_not(None))
        query = query.order_by(ProactiveTask.created_at.desc(), ProactiveTask.id.desc())
    now = utcnow()
    tasks = db.session.scalars(query.limit(limit_arg())).all()
    return jsonify({"proactive_tasks": [proactive.document(task, now) for task in tasks]})


@operation("post", "/api/v1/proactive-tasks/{task_id}/complete",
           "Complete a proactive outreach task with its outcome (reached, left_message, "
           "no_answer, declined) and an optional note", body=ProactiveTaskDone,
           scope=ApiScope.FULL,
           responses={200: ("Completed", ProactiveTaskOut), **AUTH_ERRORS, **BODY_ERRORS,
                      404: ("No such task", None),
                      409: ("The task was completed already", None)})  # fmt: skip
@bp.post("/proactive-tasks/<task_id>/complete")
def proactive_task_complete(task_id: str):
    task = row_or_404(ProactiveTask, task_id, "proactive task")
    data = parse_body(ProactiveTaskDone)
    now = utcnow()
    try:
        proactive.complete(task, data.outcome, data.note, data.completed_by, now)
    except ProactiveError as error:
        if error.status == 409:
            raise BadRequest(409, "conflict", f"the task was {error.message}") from None
        fields = [{"field": error.field, "problem": error.message}]
        raise BadRequest(422, "validation_failed", error.message, fields) from None
    db.session.commit()
    return jsonify(proactive.document(task, now))
