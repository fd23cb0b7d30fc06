"""Recovery API views: the lead's recovery queue, completing tasks, recording a recovery's
root cause (and the list of causes), the goodwill catalogue with its code pools, and alerts.
Reading needs a key of scope read; changing, scope full."""

import sqlalchemy as sa
from flask import jsonify, request

from followup import root_causes
from followup.api import bp
from followup.api.openapi import one_of, operation
from followup.api.schemas import (
    ALERT_AUDIENCES,
    CODES_CSV,
    Alerts,
    Catalogue,
    CodesAdded,
    RecoveryQueue,
    RootCauseIn,
    RootCauseList,
    RootCauseRecorded,
    TaskDone,
    TaskOut,
)
from followup.extensions import db
from followup.goodwill import (
    MAX_CODES,
    MAX_CODES_BYTES,
    add_codes,
    parse_codes,
    spent_this_month,
    unused_codes,
)
from followup.models import Alert, Case, GestureType, Recovery, RecoveryTask
from followup.models.base import utcnow
from followup.models.recovery import RECOVERY_STATUSES, GestureKind, RecoveryStatus
from followup.models.users import ApiScope
from followup.outbound import acknowledge_alert
from followup.recovery_queue import NEEDS_ROOT_CAUSE, complete_task, queue_entries
from followup.root_causes import RootCauseError
from followup.task_documents import task_document
from followup.web.api_keys import AUTH_ERRORS
from followup.web.json_body import BODY_ERRORS, LIMIT, BadRequest, limit_arg, parse_body, row_or_404

STATUS_FILTERS = (*RECOVERY_STATUSES, NEEDS_ROOT_CAUSE, "all")


@operation("get", "/api/v1/recoveries",
           "The recovery queue: open recoveries (or ?status=recovered|escalated|withdrawn|"
           "needs_root_cause|all), those with overdue tasks first", scope=ApiScope.READ,
           responses={200: ("The queue", RecoveryQueue), **AUTH_ERRORS, 422: ("Bad filter", None)},
           query={"status": ("open (default), recovered, escalated, withdrawn, needs_root_cause "
                             "(ended without a root cause recorded) or all",
                             one_of(STATUS_FILTERS, default="open")),
                  "limit": LIMIT})  # fmt: skip
@bp.get("/recoveries")
def recoveries():
    status = request.args.get("status", RecoveryStatus.OPEN)
    if status not in STATUS_FILTERS:
        allowed = ", ".join((*RECOVERY_STATUSES, NEEDS_ROOT_CAUSE))
        raise BadRequest(422, "validation_failed", f"status must be one of {allowed} or all")
    entries = queue_entries(None if status == "all" else status, utcnow(), limit_arg())
    return jsonify({"recoveries": entries})


def refused(error: RootCauseError) -> BadRequest:
    """A root cause that cannot be recorded, as the API's error."""
    if error.status == 409:
        return BadRequest(409, "conflict", error.message)
    fields = [{"field": error.field, "problem": error.message}]
    return BadRequest(422, "validation_failed", f"{error.field}: {error.message}", fields)


@operation("post", "/api/v1/tasks/{task_id}/complete",
           "Complete a recovery task with its outcome, and the recovery's root cause (optional)",
           body=TaskDone, scope=ApiScope.FULL,
           responses={200: ("Completed", TaskOut), **AUTH_ERRORS, **BODY_ERRORS,
                      404: ("No such task", None),
                      409: ("The task was completed already", None)})  # fmt: skip
@bp.post("/tasks/<task_id>/complete")
def task_complete(task_id: str):
    ident = row_or_404(RecoveryTask, task_id, "task").id
    data = parse_body(TaskDone)
    now = utcnow()
    try:
        task = complete_task(
            ident, data.outcome, data.completed_by, now, data.root_cause, data.root_cause_note
        )
    except RootCauseError as error:
        if error.field == "note":
            error.field = "root_cause_note"
        raise refused(error) from None
    if task is None:
        raise BadRequest(409, "conflict", "the task was completed already")
    db.session.commit()
    return jsonify(task_document(task, now))


@operation("post", "/api/v1/recoveries/{recovery_id}/root-cause",
           "Record (or change) an ended recovery's root cause, with an optional note: on its "
           "timeline and written back to the helpdesk", body=RootCauseIn, scope=ApiScope.FULL,
           responses={200: ("Recorded (changed: false when it was already)", RootCauseRecorded),
                      **AUTH_ERRORS, **BODY_ERRORS, 404: ("No such recovery", None),
                      409: ("The recovery has not ended yet", None)})  # fmt: skip
@bp.post("/recoveries/<recovery_id>/root-cause")
def recovery_root_cause(recovery_id: str):
    recovery = row_or_404(Recovery, recovery_id, "recovery")
    data = parse_body(RootCauseIn)
    try:
        changed = root_causes.record(
            recovery, data.root_cause, data.note, data.recorded_by, utcnow()
        )
    except RootCauseError as error:
        raise refused(error) from None
    db.session.commit()
    document = root_causes.document(recovery)
    return jsonify({"recovery_id": recovery.id, "changed": changed, "root_cause": document})


@operation("get", "/api/v1/root-causes",
           "The root causes a recovery can be put down to, in the admin's order (inactive ones "
           "too: recoveries keep them)", scope=ApiScope.READ,
           responses={200: ("The list", RootCauseList), **AUTH_ERRORS})  # fmt: skip
@bp.get("/root-causes")
def root_cause_list():
    listed = [
        {"key": cause.key, "name": cause.name, "active": cause.active, "position": cause.position}
        for cause in root_causes.causes()
    ]
    return jsonify({"root_causes": listed})


@operation("get", "/api/v1/goodwill",
           "The goodwill catalogue: each gesture with its budget, this month's spend and the "
           "codes left in its pool", scope=ApiScope.READ,
           responses={200: ("The catalogue", Catalogue), **AUTH_ERRORS})  # fmt: skip
@bp.get("/goodwill")
def catalogue():
    now = utcnow()
    gestures = [
        {
            "key": kind.key,
            "name": kind.name,
            "kind": kind.kind,
            "offer": kind.offer,
            "offer_translations": kind.offer_translations or {},
            "cost_cents": kind.cost_cents,
            "monthly_budget_cents": kind.monthly_budget_cents,
            "spent_this_month_cents": spent_this_month(kind.id, now),
            "unused_codes": unused_codes(kind.id) if kind.kind == GestureKind.CODE else None,
            "active": kind.active,
        }  # fmt: skip
        for kind in db.session.scalars(sa.select(GestureType).order_by(GestureType.id))
    ]
    return jsonify({"gestures": gestures})


@operation("post", "/api/v1/goodwill/{key}/codes",
           "Add codes to a gesture's pool from a CSV (first column; a `code` header is skipped)",
           csv_body=CODES_CSV, scope=ApiScope.FULL,
           responses={200: ("Added", CodesAdded), **AUTH_ERRORS, **BODY_ERRORS,
                      404: ("No such gesture", None)})  # fmt: skip
@bp.post("/goodwill/<key>/codes")
def upload_codes(key: str):
    request.max_content_length = MAX_CODES_BYTES
    gesture_type = db.session.scalar(sa.select(GestureType).where(GestureType.key == key[:100]))
    if gesture_type is None:
        raise BadRequest(404, "not_found", f"no gesture {key!r}")
    if gesture_type.kind != GestureKind.CODE:
        raise BadRequest(
            422, "validation_failed", f"{key!r} gives no codes: it is a {gesture_type.kind}"
        )
    try:
        codes = parse_codes(request.get_data(cache=False).decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BadRequest(400, "malformed_csv", "the CSV must be UTF-8 text") from None
    except ValueError as error:
        raise BadRequest(422, "validation_failed", str(error)) from None
    if not codes:
        raise BadRequest(422, "validation_failed", "the CSV holds no codes")
    if len(codes) > MAX_CODES:
        raise BadRequest(413, "payload_too_large", f"at most {MAX_CODES} codes per upload")
    result = add_codes(gesture_type, codes, utcnow())
    db.session.commit()
    return jsonify(result)


@operation("get", "/api/v1/alerts", "Alerts for the leads and managers, newest first",
           scope=ApiScope.READ,
           responses={200: ("Alerts", Alerts), **AUTH_ERRORS, 422: ("Bad filter", None)},
           query={"audience": ("lead or manager (default: both)", one_of(ALERT_AUDIENCES)),
                  "open": ("true: only those not acknowledged yet", {"type": "string"}),
                  "limit": LIMIT})  # fmt: skip
@bp.get("/alerts")
def alerts():
    query = sa.select(Alert, Case.external_id).outerjoin(Case, Case.id == Alert.case_id)
    audience = request.args.get("audience")
    if audience is not None:
        if audience not in ALERT_AUDIENCES:
            raise BadRequest(422, "validation_failed", "audience must be lead or manager")
        query = query.where(Alert.audience == audience)
    if request.args.get("open") == "true":
        query = query.where(Alert.acknowledged_at.is_(None))
    rows = db.session.execute(query.order_by(Alert.id.desc()).limit(limit_arg()))
    return jsonify({"alerts": [_alert(alert, case) for alert, case in rows]})


@operation("post", "/api/v1/alerts/{alert_id}/acknowledge", "Mark an alert as seen",
           scope=ApiScope.FULL,
           responses={200: ("Acknowledged (again: unchanged)", None), **AUTH_ERRORS,
                      404: ("No such alert", None)})  # fmt: skip
@bp.post("/alerts/<alert_id>/acknowledge")
def acknowledge(alert_id: str):
    alert = row_or_404(Alert, alert_id, "alert")
    acknowledge_alert(alert, utcnow())
    db.session.commit()
    case = db.session.get(Case, alert.case_id) if alert.case_id else None
    return jsonify(_alert(alert, case.external_id if case else None))


def _alert(alert: Alert, case: str | None) -> dict:
    return {
        "id": alert.id, "audience": alert.audience, "kind": alert.kind, "title": alert.title,
        "detail": alert.detail, "case": case, "created_at": alert.created_at.isoformat(),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
    }  # fmt: skip
