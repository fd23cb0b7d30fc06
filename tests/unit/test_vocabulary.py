"""The stored vocabularies (statuses, kinds, roles, timeline event kinds) are the StrEnums of
followup.models, written and compared through their members: a misspelt member fails at
import, and a plain string literal where a member belongs fails here. Members are stored as
the same strings they always were (no migration)."""

import ast
from enum import StrEnum
from pathlib import Path

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import (
    Alert,
    ApiKey,
    Cadence,
    CadenceStep,
    Case,
    CaseEvent,
    Gesture,
    GestureType,
    Message,
    OutboundCall,
    Recovery,
    Survey,
    SurveyInvitation,
    User,
)
from followup.models.cadences import (
    CADENCE_PURPOSES,
    STEP_CHANNELS,
    STEP_CONDITIONS,
    CadencePurpose,
    StepChannel,
    StepCondition,
)
from followup.models.cases import CASE_STATUSES, PRIORITIES, CaseStatus, EventKind, Priority
from followup.models.messages import (
    DELIVERY_ORDER,
    MESSAGE_STATUSES,
    PENDING_STATUSES,
    DeliveryStatus,
    MessageStatus,
)
from followup.models.recovery import (
    GESTURE_KINDS,
    RECOVERY_STATUSES,
    AlertAudience,
    AlertKind,
    CallKind,
    CallStatus,
    GestureKind,
    GestureStatus,
    RecoveryStatus,
)
from followup.models.surveys import QUESTION_KINDS, SURVEY_KINDS, QuestionKind, SmsState, SurveyKind
from followup.models.users import API_SCOPES, ROLES, ApiScope, Role
from followup.webhooks.sendgrid import DELIVERY_STATUS, SUPPRESSING
from followup.webhooks.twilio import TWILIO_DELIVERY

ROOT = Path(__file__).resolve().parents[2]
# The code that writes and compares stored values (the models define them).
SOURCES = sorted(
    path
    for folder in ("followup", "surveys", "workers")
    for path in (ROOT / folder).rglob("*.py")
    if "models" not in path.relative_to(ROOT).parts and "migrations" not in path.parts
)

# Each column with a fixed set of values, and the enum that holds them.
COLUMNS = {
    Case.status: CaseStatus,
    Case.priority: Priority,
    CaseEvent.kind: EventKind,
    Message.status: MessageStatus,
    Message.delivery_status: DeliveryStatus,
    Message.condition: StepCondition,
    Cadence.purpose: CadencePurpose,
    CadenceStep.channel: StepChannel,
    CadenceStep.condition: StepCondition,
    Recovery.status: RecoveryStatus,
    Gesture.status: GestureStatus,
    GestureType.kind: GestureKind,
    Alert.audience: AlertAudience,
    Alert.kind: AlertKind,
    OutboundCall.kind: CallKind,
    OutboundCall.status: CallStatus,
    Survey.kind: SurveyKind,
    SurveyInvitation.sms_state: SmsState,
    User.role: Role,
    ApiKey.scope: ApiScope,
}
# The attributes and keywords that hold one of these values.
VOCABULARY_NAMES = {
    "status",
    "delivery_status",
    "kind",
    "condition",
    "purpose",
    "priority",
    "audience",
    "sms_state",
    "role",
    "scope",
}
# Calls that take column values as keywords: a model's constructor, an UPDATE's .values().
VALUES_TAKERS = {"values", *(column.class_.__name__ for column in COLUMNS)}
# Calls whose argument (by position, or keyword) is a vocabulary value.
VOCABULARY_ARGUMENTS = {
    "record_event": [(1, "kind")],
    "unclaim": [(1, "event")],
    "emit": [(0, "event")],
    "plan_call": [(0, "kind")],
    "raise_alert": [(1, "audience"), (2, "kind")],
}


def _calls_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _literals(node: ast.AST) -> list[str]:
    """The plain strings an expression may be (an f-string counts as one): itself, either
    branch of a conditional, the items of a tuple, list or set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [ast.unparse(node)]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [found for item in node.elts for found in _literals(item)]
    if isinstance(node, ast.Starred):
        return _literals(node.value)
    return []


def _holds_vocabulary(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in VOCABULARY_NAMES


def _plain_strings(path: Path) -> list[str]:
    """Where a vocabulary value is a plain string: a vocabulary call's argument, a comparison
    with a vocabulary attribute, an assignment to one, a vocabulary keyword (`.values(status=
    "sent")`, `Message(status=...)`) or `.in_((...))` on a vocabulary column."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    where = path.relative_to(ROOT)
    for node in ast.walk(tree):
        strings: list[str] = []
        if isinstance(node, ast.Call):
            for position, keyword in VOCABULARY_ARGUMENTS.get(_calls_name(node) or "", []):
                args = [a for a in node.args[position : position + 1]]
                args += [k.value for k in node.keywords if k.arg == keyword]
                strings += [s for arg in args for s in _literals(arg)]
            if _calls_name(node) == "in_" and _holds_vocabulary(node.func.value):  # type: ignore[attr-defined]
                strings += [s for arg in node.args for s in _literals(arg)]
            if _calls_name(node) in VALUES_TAKERS:
                strings += [
                    s
                    for k in node.keywords
                    if k.arg in VOCABULARY_NAMES
                    for s in _literals(k.value)
                ]
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_holds_vocabulary(side) for side in sides):
                strings += [s for side in sides for s in _literals(side)]
        elif isinstance(node, ast.Assign):
            if any(_holds_vocabulary(target) for target in node.targets):
                strings += _literals(node.value)
        found += [f"{where}:{node.lineno}: {s!r}" for s in strings]  # type: ignore[attr-defined]
    return found


def test_no_plain_string_where_a_member_belongs():
    found = [line for path in SOURCES for line in _plain_strings(path)]
    assert not found, "use the models' StrEnum members:\n" + "\n".join(found)


def test_the_scan_finds_a_plain_string(tmp_path):
    path = ROOT / "followup" / "_vocabulary_probe.py"
    text = (
        'record_event(1, "case.closd")\n'
        'record_event(1, f"message.{status}")\n'
        'if message.status == "sent": pass\n'
        'query.where(Message.status.in_(("scheduled", "sending")))\n'
        'sa.update(Message).values(status="sent")\n'
        'call.status = "done"\n'
        "record_event(1, EventKind.CASE_CLOSED)\n"
    )
    path.write_text(text)
    try:
        found = _plain_strings(path)
    finally:
        path.unlink()
    assert sorted(line.split(": ", 1)[1] for line in found) == sorted(
        [
            "'case.closd'",
            repr("f'message.{status}'"),
            "'sent'",
            "'scheduled'",
            "'sending'",
            "'sent'",
            "'done'",
        ]
    )


def test_every_timeline_kind_built_from_a_value_is_a_member():
    """The kinds made from another vocabulary: a message's status or delivery status (the
    outbox's re-check cancels or suppresses), SendGrid's reports that suppress without a
    delivery status, and an outbound call that gave up or (helpdesk, credit) went through."""
    for status in (MessageStatus.CANCELLED, MessageStatus.SUPPRESSED, *DeliveryStatus):
        assert EventKind.message_event(status) == f"message.{status}"
    for name in set(SUPPRESSING) - set(DELIVERY_STATUS):
        assert EventKind.message_event(name) == f"message.{name}"
    for kind in CallKind:
        assert EventKind.call_event(kind, CallStatus.FAILED) == f"{kind}.failed"
    for kind in (CallKind.HELPDESK, CallKind.CREDIT):
        assert EventKind.call_event(kind, CallStatus.DONE) == f"{kind}.done"
    with pytest.raises(ValueError):
        EventKind.message_event("snet")


def test_the_providers_report_delivery_statuses():
    assert set(DELIVERY_ORDER) == set(DeliveryStatus)
    assert set(TWILIO_DELIVERY.values()) <= set(DeliveryStatus)
    assert set(DELIVERY_STATUS.values()) <= set(DeliveryStatus)


def test_the_value_lists_come_from_the_enums():
    pairs = [
        (MESSAGE_STATUSES, MessageStatus),
        (CASE_STATUSES, CaseStatus),
        (PRIORITIES, Priority),
        (RECOVERY_STATUSES, RecoveryStatus),
        (GESTURE_KINDS, GestureKind),
        (SURVEY_KINDS, SurveyKind),
        (QUESTION_KINDS, QuestionKind),
        (ROLES, Role),
        (API_SCOPES, ApiScope),
        (STEP_CHANNELS, StepChannel),
        (CADENCE_PURPOSES, CadencePurpose),
        (STEP_CONDITIONS, StepCondition),
    ]
    for values, enum in pairs:
        assert values == tuple(member.value for member in enum)
        assert all(type(value) is str for value in values)  # plain strings for Literal[...]
    assert set(PENDING_STATUSES) < set(MESSAGE_STATUSES)


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: f"{c.class_.__name__}.{c.key}")
def test_each_member_fits_its_column_and_so_does_the_default(column):
    enum: type[StrEnum] = COLUMNS[column]
    length = column.type.length
    assert all(len(member) <= length for member in enum), (enum, length)
    default = column.default
    if default is not None:
        assert default.arg in set(enum)


def test_members_are_stored_as_their_strings_and_read_back_equal():
    """Every member through a column of the model's own type, on SQLite."""
    engine = sa.create_engine("sqlite://")
    metadata = sa.MetaData()
    tables = {
        column: sa.Table(f"t{i}", metadata, sa.Column("value", column.type))
        for i, column in enumerate(COLUMNS)
    }
    metadata.create_all(engine)
    with engine.begin() as connection:
        for column, table in tables.items():
            members = list(COLUMNS[column])
            connection.execute(table.insert(), [{"value": member} for member in members])
            stored = connection.execute(sa.select(table.c.value)).scalars().all()
            assert stored == members
            assert all(type(value) is str for value in stored)
            raw = connection.exec_driver_sql(f"SELECT value FROM {table.name}").scalars().all()
            assert raw == [member.value for member in members]


def test_members_round_trip_through_the_database(app):
    """A member bound to a query and read back from the test database (PostgreSQL when it
    answers) equals it, and comes back a plain string."""
    with app.app_context():
        for column, enum in COLUMNS.items():
            for member in enum:
                back = db.session.execute(
                    sa.select(sa.bindparam("value", member, type_=column.type))
                ).scalar()
                assert back == member and type(back) is str
