"""Root causes: the admin's list (seeded, added, renamed, deactivated, reordered, audited),
a lead recording one when a recovery ends (the queue's form, with a task's completion, the
API; changed later, the timeline keeping each), the helpdesk note it writes (the emulated
Zendesk, once per change), the dashboard's counts (per cause, team, agent, with drill-down
and CSV), who may reach each route and hostile input on every new field and parameter."""

import csv
import io
import itertools
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from followup import outbound, privacy, recovery_queue, root_causes
from followup.api_keys import create_api_key
from followup.connectors.notes import marker
from followup.extensions import db
from followup.models import AuditEntry, CaseEvent, OutboundCall, Recovery, RecoveryTask, RootCause
from followup.models.base import utcnow
from followup.models.users import ApiScope
from tests.support.console import csrf_token, sign_in
from tests.support.hostile import FORM, MARKUP, STRINGS, form_body
from tests.support.root_causes import DEFAULTS, agent_user, ended_recovery, with_defaults
from tests.support.waiting import wait_until

SECRET = "whsec_" + "R" * 32
HOSTILE = ("nul", "control", "lone_surrogate", "long_10k", "script", "sql", "crlf", "blank",
           "rtl_zero_width", "jinja")  # fmt: skip


@pytest.fixture
def ended(app, seeded):
    """The default causes; R-1 escalated (North, Sam Rivera), R-2 open with its task."""
    with_defaults()
    return ended_recovery(1), ended_recovery(2, status="open")


def reload(recovery_id: int) -> Recovery:
    db.session.expire_all()
    return db.session.get_one(Recovery, recovery_id)


def timeline(recovery: Recovery) -> list[dict]:
    return list(db.session.scalars(sa.select(CaseEvent.detail).where(
        CaseEvent.case_id == recovery.case_id, CaseEvent.kind == "recovery.root_cause"
    ).order_by(CaseEvent.id)))  # fmt: skip


def stored() -> tuple:
    """What a refusal must leave as it was."""
    db.session.expire_all()
    return (
        db.session.scalars(sa.select(Recovery.root_cause_id).order_by(Recovery.id)).all(),
        db.session.scalar(sa.select(sa.func.count(CaseEvent.id))),
        db.session.scalar(sa.select(sa.func.count(RootCause.id))),
        db.session.scalar(sa.select(sa.func.count(AuditEntry.id))),
        db.session.scalars(sa.select(RecoveryTask.completed_at).order_by(RecoveryTask.id)).all(),
    )


def record_form(client, recovery_id: int, cause: str, note: str = "", **query):
    token = csrf_token(client, "/admin/recoveries?status=all")
    body = form_body({"csrf_token": token, "root_cause": cause, "root_cause_note": note})
    return client.post(f"/admin/recoveries/{recovery_id}/root-cause", query_string=query,
                       data=body, content_type=FORM)  # fmt: skip


# -- the admin's list -------------------------------------------------------------------------


def test_the_list_starts_with_the_defaults_and_changes_are_audited(as_admin, ended):
    page = as_admin.get("/admin/root-causes").get_data(as_text=True)
    names = [name for _, name in DEFAULTS]
    assert [page.index(name) for name in names] == sorted(page.index(name) for name in names)
    token = csrf_token(as_admin, "/admin/root-causes")
    added = as_admin.post("/admin/root-causes", data={"csrf_token": token, "key": "missing_docs",
                                                      "name": "Missing <b>docs</b>"})  # fmt: skip
    assert added.status_code == 303
    cause = root_causes.by_key("missing_docs")
    assert cause.position == 5 and cause.active
    page = as_admin.get("/admin/root-causes").get_data(as_text=True)
    assert "Missing &lt;b&gt;docs&lt;/b&gt;" in page and "<b>docs" not in page

    delay = root_causes.by_key("delay")
    assert as_admin.post(f"/admin/root-causes/{delay.id}", data={
        "csrf_token": token, "name": "Delays"}).status_code == 303  # fmt: skip
    assert as_admin.post(f"/admin/root-causes/{cause.id}/move/up",
                         data={"csrf_token": token}).status_code == 303  # fmt: skip
    db.session.expire_all()
    assert (delay.name, delay.active) == ("Delays", False)  # unticked: deactivated
    assert [c.key for c in root_causes.causes()][-2:] == ["missing_docs", "communication"]
    assert "delay" not in root_causes.choices()
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.entity) for e in entries] == [
        ("create", "root_cause"), ("update", "root_cause"), ("move", "root_cause")]  # fmt: skip
    assert entries[1].after == {"name": "Delays", "active": False}


def test_hostile_keys_and_names_are_refused_or_kept_as_text(as_admin, ended):
    token = csrf_token(as_admin, "/admin/root-causes")
    for number, name in enumerate(HOSTILE):
        before = stored()
        refused = as_admin.post("/admin/root-causes", content_type=FORM, data=form_body(
            {"csrf_token": token, "key": STRINGS[name], "name": "Fine"}))  # fmt: skip
        assert refused.status_code == 422 and "There is a problem" in refused.text, name
        assert stored() == before
        response = as_admin.post("/admin/root-causes", content_type=FORM, data=form_body(
            {"csrf_token": token, "name": STRINGS[name], "key": f"fine{number}"}))  # fmt: skip
        if name in ("long_10k", "blank"):
            assert response.status_code == 422 and stored() == before
        else:  # text: kept as text (control characters dropped), shown escaped
            assert response.status_code == 303, name
            assert "\x00" not in root_causes.by_key(f"fine{number}").name
        page = as_admin.get("/admin/root-causes").get_data(as_text=True)
        assert not any(markup in page for markup in MARKUP)


def test_a_taken_key_or_name_and_unknown_causes_are_refused(as_admin, ended):
    token = csrf_token(as_admin, "/admin/root-causes")
    before = stored()
    for body in ({"key": "delay", "name": "Late"}, {"key": "late", "name": "DELAY"},
                 {"key": "Bad Key", "name": "x"}, {"key": "", "name": "x"}):  # fmt: skip
        response = as_admin.post("/admin/root-causes", data={"csrf_token": token, **body})
        assert response.status_code == 422
    policy = root_causes.by_key("policy").id
    for name in ("Delay", "x" * 101, "  "):
        response = as_admin.post(f"/admin/root-causes/{policy}",
                                 data={"csrf_token": token, "name": name})  # fmt: skip
        assert response.status_code == 422 and "There is a problem" in response.text
    for path in ("999", "99999999999999999999", "1/move/sideways"):
        assert as_admin.get(f"/admin/root-causes/{path}").status_code in (404, 405)
        assert as_admin.post(f"/admin/root-causes/{path}", data={"csrf_token": token,
                             "name": "x"}).status_code == 404  # fmt: skip
    assert stored() == before


# -- recording one in the queue ---------------------------------------------------------------


def test_an_ended_recovery_is_flagged_and_takes_its_root_cause(as_lead, ended):
    escalated, still_open = ended
    page = as_lead.get("/admin/recoveries?status=needs_root_cause").get_data(as_text=True)
    assert "Case R-1" in page and "Case R-2" not in page and "root cause needed" in page
    assert f'id="root-cause-recovery-{escalated.id}"' in page
    assert "Product defect" in page and '<option value="delay">Delay</option>' in page

    assert record_form(as_lead, escalated.id, "policy", "Refund <b>rule</b>").status_code == 303
    recovery = reload(escalated.id)
    assert (recovery.root_cause.key, recovery.root_cause_note, recovery.root_cause_by) == (
        "policy", "Refund <b>rule</b>", "lead@example.com")  # fmt: skip
    page = as_lead.get("/admin/recoveries?status=all").get_data(as_text=True)
    assert "Refund &lt;b&gt;rule&lt;/b&gt;" in page and "Change the root cause" in page
    assert "No ended recovery is waiting" in as_lead.get(
        "/admin/recoveries?status=needs_root_cause").get_data(as_text=True)  # fmt: skip

    assert record_form(as_lead, escalated.id, "policy", "Refund <b>rule</b>").status_code == 303
    assert record_form(as_lead, escalated.id, "agent_knowledge").status_code == 303
    assert reload(escalated.id).root_cause.key == "agent_knowledge"  # the latest counts
    assert [(e["root_cause"], e["comment"], e["changed"]) for e in timeline(recovery)] == [
        ("policy", "Refund <b>rule</b>", False), ("agent_knowledge", None, True)]  # fmt: skip

    not_ended = record_form(as_lead, still_open.id, "policy")
    assert not_ended.status_code == 409 and "has not ended" in not_ended.get_data(as_text=True)
    assert reload(still_open.id).root_cause_id is None
    for unknown in ("999", "99999999999999999999"):
        assert record_form(as_lead, unknown, "policy").status_code == 404


def test_completing_a_task_records_the_root_cause_in_the_same_form(as_lead, ended):
    task = db.session.scalar(sa.select(RecoveryTask).where(
        RecoveryTask.recovery_id == ended[1].id))  # fmt: skip
    token = csrf_token(as_lead, "/admin/recoveries")
    page = as_lead.get("/admin/recoveries").get_data(as_text=True)
    assert f'id="root-cause-task-{task.id}"' in page and "Record it later" in page
    response = as_lead.post(f"/admin/recoveries/tasks/{task.id}/complete", data={
        "csrf_token": token, "outcome": "Called back", "root_cause": "delay",
        "root_cause_note": "Courier lost it"})  # fmt: skip
    assert response.status_code == 303
    recovery = reload(ended[1].id)
    assert (recovery.status, recovery.root_cause.key) == ("open", "delay")
    assert timeline(recovery)[0]["comment"] == "Courier lost it"
    assert "Root cause: Delay" in as_lead.get("/admin/recoveries").get_data(as_text=True)


def test_hostile_root_causes_and_notes_are_refused_in_both_forms(as_lead, ended):
    escalated, still_open = ended
    task = db.session.scalar(sa.select(RecoveryTask.id).where(
        RecoveryTask.recovery_id == still_open.id))  # fmt: skip
    token = csrf_token(as_lead, "/admin/recoveries?status=all")
    before = stored()
    tried = [(value, "") for value in map(STRINGS.get, HOSTILE)]  # no such key
    tried += [("policy", value + "x" * 1001) for value in map(STRINGS.get, HOSTILE)]  # too long
    for cause, note in tried:
        for url, extra in (
            (f"/admin/recoveries/{escalated.id}/root-cause", {}),
            (f"/admin/recoveries/tasks/{task}/complete", {"outcome": "Done"}),
        ):
            body = {"csrf_token": token, "root_cause": cause, "root_cause_note": note, **extra}
            response = as_lead.post(url, data=form_body(body), content_type=FORM)
            page = response.get_data(as_text=True)
            assert response.status_code == 422, (url, cause[:20])
            assert "There is a problem" in page and not any(m in page for m in MARKUP)
    note_only = {"csrf_token": token, "outcome": "Done", "root_cause": "", "root_cause_note": "x"}
    assert as_lead.post(f"/admin/recoveries/tasks/{task}/complete",
                        data=note_only).status_code == 422  # fmt: skip
    assert stored() == before


def test_a_deactivated_cause_is_not_offered_but_stays_on_its_recoveries(as_lead, ended):
    recovery = ended[0]
    assert record_form(as_lead, recovery.id, "delay").status_code == 303
    root_causes.by_key("delay").active = False
    db.session.commit()
    other = ended_recovery(3)  # ended, no cause yet: the deactivated one is not offered
    page = as_lead.get("/admin/recoveries?status=needs_root_cause").get_data(as_text=True)
    assert '<option value="delay">' not in page.split(f'id="root-cause-{other.id}"')[1]
    refused = record_form(as_lead, other.id, "delay")
    assert refused.status_code == 422 and "Choose a root cause from the list" in refused.text
    assert reload(other.id).root_cause_id is None
    page = as_lead.get("/admin/recoveries?status=escalated").get_data(as_text=True)
    assert "Delay</strong> (no longer on the list)" in page
    assert record_form(as_lead, recovery.id, "delay", "A note").status_code == 303  # kept
    assert record_form(as_lead, recovery.id, "policy").status_code == 303
    assert record_form(as_lead, recovery.id, "delay").status_code == 422  # not again


# -- who may ----------------------------------------------------------------------------------


ADMIN_ROUTES = [("get", "/admin/root-causes"), ("post", "/admin/root-causes"),
                ("get", "/admin/root-causes/1"), ("post", "/admin/root-causes/1"),
                ("post", "/admin/root-causes/1/move/down")]  # fmt: skip
READ_ROUTES = ["/dashboard/root-causes", "/dashboard/root-causes/recoveries",
               "/dashboard/export/root-causes.csv",
               "/dashboard/export/root-cause-recoveries.csv"]  # fmt: skip


@pytest.mark.parametrize("role", ["admin", "lead", "manager", "agent", "anonymous"])
def test_who_may_reach_each_route(app, client, users, ended, role):
    if role == "agent":
        agent_user()
    if role != "anonymous":
        assert sign_in(client, f"{role}@example.com").status_code == 303
    token = csrf_token(client, "/admin/sign-in") if role == "anonymous" else None
    if token is None:
        token = csrf_token(client, "/admin/account")
    before = stored()
    for number, (method, url) in enumerate(ADMIN_ROUTES):
        data = {"csrf_token": token, "name": f"New name {number}", "key": f"new{number}"}
        status = getattr(client, method)(url, data=data).status_code
        assert status == {"admin": 303 if method == "post" else 200, "anonymous": 302}.get(
            role, 403), (method, url)  # fmt: skip
    for url in READ_ROUTES:
        status = client.get(url).status_code
        assert status == {"agent": 403, "anonymous": 302}.get(role, 200), url
    record = client.post(f"/admin/recoveries/{ended[0].id}/root-cause",
                         data={"csrf_token": token, "root_cause": "policy"})  # fmt: skip
    assert record.status_code == {"admin": 303, "lead": 303, "anonymous": 302}.get(role, 403)
    if role not in ("admin", "lead"):
        after = stored()
        assert after[0] == before[0] and after[4] == before[4]


# -- the API ----------------------------------------------------------------------------------


def test_the_api_records_lists_and_shows_root_causes(client, seeded, ended):
    escalated, still_open = ended
    auth = seeded["auth"]
    listed = client.get("/api/v1/root-causes", headers=auth).json["root_causes"]
    assert [c["key"] for c in listed] == [key for key, _ in DEFAULTS]
    url = f"/api/v1/recoveries/{escalated.id}/root-cause"
    body = {"root_cause": "policy", "note": "  Refund rule  ", "recorded_by": "Jo"}
    first = client.post(url, json=body, headers=auth)
    assert first.status_code == 200 and first.json["changed"] is True
    assert first.json["root_cause"] | {"at": None} == {"key": "policy", "name": "Policy",
        "active": True, "note": "Refund rule", "by": "Jo", "at": None}  # fmt: skip
    assert client.post(url, json=body, headers=auth).json["changed"] is False
    queue = client.get("/api/v1/recoveries?status=all", headers=auth).json["recoveries"]
    shown = {entry["case"]: entry for entry in queue}
    assert shown["R-1"]["ended"] is True and shown["R-1"]["root_cause"]["key"] == "policy"
    assert shown["R-2"]["ended"] is False and shown["R-2"]["root_cause"] is None

    task = db.session.scalar(sa.select(RecoveryTask.id).where(
        RecoveryTask.recovery_id == still_open.id))  # fmt: skip
    done = client.post(f"/api/v1/tasks/{task}/complete", headers=auth, json={
        "outcome": "Called", "completed_by": "Jo", "root_cause": "communication"})  # fmt: skip
    assert done.status_code == 200 and reload(still_open.id).root_cause.key == "communication"
    waiting = client.get("/api/v1/recoveries?status=needs_root_cause", headers=auth)
    assert waiting.json["recoveries"] == []


def test_api_refusals_name_the_field_and_store_nothing(client, seeded, ended):
    escalated, still_open = ended
    auth = seeded["auth"]
    before = stored()
    url = f"/api/v1/recoveries/{escalated.id}/root-cause"
    fine = {"root_cause": "policy", "recorded_by": "Jo"}
    cases = [({**fine, "root_cause": "unknown"}, 422, "root_cause"),
             ({**fine, "root_cause": "Bad Key"}, 422, "root_cause"),
             ({**fine, "note": "x" * 1001}, 422, "note"),
             ({**fine, "note": "\ud800"}, 422, "note"),
             ({**fine, "recorded_by": "  "}, 422, "recorded_by"),
             ({**fine, "extra": 1}, 422, "extra"),
             ({"recorded_by": "Jo"}, 422, "root_cause")]  # fmt: skip
    for body, status, field in cases:
        response = client.post(url, json=body, headers=auth)
        assert response.status_code == status, body
        assert field in [f["field"] for f in response.json["fields"]], response.json
    for name, value in STRINGS.items():
        for body in ({**fine, "root_cause": value}, {**fine, "note": value + "x" * 1001},
                     {**fine, "recorded_by": value + "y" * 201}):  # fmt: skip
            response = client.post(url, json=body, headers=auth)
            assert 400 <= response.status_code < 500, (name, body)
            assert response.json["message"]
    assert client.post(f"/api/v1/recoveries/{still_open.id}/root-cause", json=fine,
                       headers=auth).status_code == 409  # fmt: skip
    for path in ("999", "0", "-1", "x", str(2**63), "%00"):
        response = client.post(f"/api/v1/recoveries/{path}/root-cause", json=fine, headers=auth)
        assert response.status_code == 404, path
    task = db.session.scalar(sa.select(RecoveryTask.id).where(
        RecoveryTask.recovery_id == still_open.id))  # fmt: skip
    for extra in ({"root_cause": "unknown"}, {"root_cause_note": "no cause"},
                  {"root_cause": "policy", "root_cause_note": "x" * 1001}):  # fmt: skip
        response = client.post(f"/api/v1/tasks/{task}/complete", headers=auth,
                               json={"outcome": "Done", "completed_by": "Jo", **extra})  # fmt: skip
        assert response.status_code == 422, extra
    assert client.get("/api/v1/recoveries?status=nope", headers=auth).status_code == 422
    assert stored() == before


def test_a_read_key_cannot_record(client, seeded, ended):
    _, key = create_api_key("reader", ApiScope.READ)
    db.session.commit()
    response = client.post(f"/api/v1/recoveries/{ended[0].id}/root-cause",
                           json={"root_cause": "policy", "recorded_by": "Jo"},
                           headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert response.status_code == 403 and reload(ended[0].id).root_cause_id is None
    assert client.get("/api/v1/root-causes", headers={
        "Authorization": f"Bearer {key}"}).status_code == 200  # fmt: skip


# -- the helpdesk note ------------------------------------------------------------------------


def run_calls() -> dict:
    token = outbound.claim_calls(utcnow(), 50, 60)
    db.session.commit()
    return outbound.run_calls(token) if token else {}


def test_each_recorded_cause_is_written_on_the_ticket_once(app, emulator, ended):
    app.config.update(HELPDESK="zendesk", ZENDESK_BASE_URL=emulator.url,
                      ZENDESK_EMAIL=emulator.zendesk_email,
                      ZENDESK_API_TOKEN=emulator.zendesk_api_token)  # fmt: skip
    emulator.add_ticket("zendesk", "777", status="solved")
    recovery = ended[0]
    recovery.case.ticket_id = "777"
    db.session.commit()
    run_calls()  # what the negative answer planned before the ticket number was set: nothing
    emulator.set_faults(providers=["zendesk"], methods=["PUT"], applied=True, rate=1, times=1,
                        status=500)  # fmt: skip
    root_causes.record(recovery, "policy", "Refund <b>rule</b>", "lead@example.com", utcnow())
    db.session.commit()
    assert run_calls()["retry"] == 1  # applied, but the answer was lost
    root_causes.record(recovery, "policy", "Refund <b>rule</b>", "lead@example.com", utcnow())
    root_causes.record(recovery, "delay", None, "jo@example.com", utcnow())
    db.session.commit()
    db.session.execute(sa.update(OutboundCall).values(due_at=utcnow()))
    db.session.commit()
    assert run_calls()["done"] == 2
    comments = [c["body"] for c in emulator.ticket("zendesk", "777")["comments"]]
    key = f"helpdesk_note:root_cause:{recovery.id}:1"
    assert comments == [
        "Root cause: Policy [policy], recorded by lead@example.com\nNote: “Refund <b>rule</b>”\n"
        f"Case timeline: http://followup.test/dashboard/cases/R-1\n\n{marker(key)}",
        "Root cause (changed): Delay [delay], recorded by jo@example.com\n"
        "Case timeline: http://followup.test/dashboard/cases/R-1\n\n"
        f"{marker(key[:-1] + '2')}",
    ]


def test_the_generic_connector_gets_the_cause_as_data(app, emulator, ended):
    app.config.update(HELPDESK="generic", HELPDESK_WEBHOOK_URL=f"{emulator.url}/hooks/helpdesk",
                      HELPDESK_WEBHOOK_SECRET=SECRET)  # fmt: skip
    root_causes.record(ended[0], "delay", "Late", "jo@example.com", utcnow())
    db.session.commit()
    run_calls()
    [hook] = [h for h in emulator.requests("webhook") if "root_cause" in h["raw"]]
    event = Webhook(SECRET).verify(hook["raw"], hook["headers"])
    assert event["data"] | {"case_url": ""} == {
        "type": "root_cause", "recovery_id": ended[0].id, "root_cause": "delay",
        "label": "Delay", "comment": "Late", "by": "jo@example.com", "changed": False,
        "case_url": ""}  # fmt: skip


# -- the dashboard ----------------------------------------------------------------------------


@pytest.fixture
def counted(app, seeded):
    """Causes recorded today on recoveries of two teams and agents (R-7 started 40 days ago,
    R-8 still open with its task completed), one ended without a cause, one cause (R-9's)
    recorded 40 days ago."""
    with_defaults()
    made = [
        ended_recovery(1, "recovered", "North", "Ana"),
        ended_recovery(2, "escalated", "North", "Ana"),
        ended_recovery(3, "recovered", "South", "Bo"),
        ended_recovery(4, "escalated", "South", "Bo"),
        ended_recovery(5, "escalated", "South", "Bo"),
        ended_recovery(6, "escalated", "North", "Ana"),
        ended_recovery(7, "escalated", "North", "Ana", days_ago=40),
        ended_recovery(8, "open", "South", "Bo"),
        ended_recovery(9, "recovered", "North", "Ana", days_ago=45),
    ]  # fmt: skip
    db.session.execute(sa.update(RecoveryTask).where(RecoveryTask.recovery_id == made[7].id)
                       .values(completed_at=utcnow(), outcome="Called"))  # fmt: skip
    for recovery, cause in zip(made, ["delay", "delay", "policy", "policy", "policy", None,
                                      "policy", "policy", "policy"], strict=True):  # fmt: skip
        if cause:
            root_causes.record(recovery, cause, f"<b>{cause}</b>", "lead@example.com", utcnow())
    db.session.execute(sa.update(Recovery).where(Recovery.id == made[8].id).values(
        root_cause_at=utcnow() - timedelta(days=40)))  # fmt: skip
    db.session.commit()
    return made


def test_the_dashboard_counts_causes_by_team_and_agent_least_recovered_first(as_manager, counted):
    page = as_manager.get("/dashboard/root-causes?period=30d").get_data(as_text=True)
    assert ">7</a> root causes recorded in this period (1 in the previous one)" in page
    assert ">1</a> recovery started in this period has ended without a root cause yet" in page
    table = page[page.index("Which causes recover least") : page.index('id="by-team"')]
    assert table.index("Policy") < table.index("Delay")  # small samples: the most recorded first
    # Policy: R-3 recovered, R-4, R-5 and R-7 escalated: shares of 4 decided; R-8 undecided.
    assert '25%</a> <span class="of">of 4 decided</span>' in table
    assert '75%</a> <span class="of">of 4 decided</span>' in table
    assert 'cause=policy&amp;outcome=undecided">1</a>' in table
    assert '50%</a> <span class="of">of 2 decided</span>' in table
    assert "small sample" in table
    figures = root_causes.figures(root_causes.Scope(utcnow().date(), utcnow().date()))
    assert (figures.recorded, figures.not_recorded) == (7, 1)
    shown = [(row.key, row.recorded, row.decided, row.undecided, row.previous)
             for row in figures.causes]  # fmt: skip
    assert shown == [("policy", 5, 4, 1, 0), ("delay", 2, 2, 0, 0)]
    assert figures.by_team == [("South", {"policy": 4}), ("North", {"delay": 2, "policy": 1})]
    assert figures.by_agent == [("Bo", {"policy": 4}), ("Ana", {"delay": 2, "policy": 1})]
    year = root_causes.figures(root_causes.Scope(utcnow().date().replace(day=1).replace(
        year=utcnow().year - 1), utcnow().date(), team="North"))  # fmt: skip
    assert [(row.key, row.recorded) for row in year.causes] == [("delay", 2), ("policy", 2)]
    north = root_causes.figures(root_causes.Scope(utcnow().date() - timedelta(days=29),
                                                  utcnow().date(), team="North"))  # fmt: skip
    # R-7 started long ago and was recorded now; R-9's was recorded in the period before.
    north_rows = [(row.key, row.recorded, row.previous) for row in north.causes]
    assert north_rows == [("delay", 2, 0), ("policy", 1, 1)]
    assert 'href="/dashboard/' in page and "Root causes" in as_manager.get(
        "/dashboard/").get_data(as_text=True)  # fmt: skip


def test_drill_down_and_csv_list_the_recoveries_behind_a_number(as_manager, counted):
    listed = as_manager.get("/dashboard/root-causes/recoveries?period=30d&cause=policy"
                            "&outcome=escalated").get_data(as_text=True)  # fmt: skip
    assert "3 recoveries" in listed and all(f"R-{n}<" in listed for n in (4, 5, 7))
    assert "R-3<" not in listed and "&lt;b&gt;policy&lt;/b&gt;" in listed
    assert 'href="/dashboard/cases/R-4"' in listed and "Root causes recorded from" in listed
    undecided = as_manager.get("/dashboard/root-causes/recoveries?period=30d&cause=policy"
                               "&outcome=undecided").get_data(as_text=True)  # fmt: skip
    assert "1 recovery" in undecided and "R-8<" in undecided
    missing = as_manager.get("/dashboard/root-causes/recoveries?period=30d&cause=none")
    assert "1 recovery" in missing.get_data(as_text=True) and "R-6" in missing.get_data(
        as_text=True
    )
    export = as_manager.get("/dashboard/export/root-cause-recoveries.csv?period=30d&agent=Bo")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][0] == "case" and sorted(r[0] for r in rows[1:]) == ["R-3", "R-4", "R-5", "R-8"]
    assert {r[8] for r in rows[1:]} == {"<b>policy</b>"}
    table = as_manager.get("/dashboard/export/root-causes.csv?period=30d").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[0][3:7] == ["recorded", "previous period", "decided", "recovered %"]
    assert rows[1] == ["Policy", "policy", "yes", "5", "1", "4", "25.0", "1", "75.0", "3", "1",
                       "yes"]  # fmt: skip
    assert rows[-1][:5] == ["(not recorded)", "none", "", "1", "0"]


QUERY_PARAMETERS = ("period", "from", "to", "team", "agent", "channel", "cause", "outcome", "page")


def test_hostile_query_parameters_are_a_422_or_a_page(as_manager, counted):
    for url, parameter, name in itertools.product(READ_ROUTES, QUERY_PARAMETERS, STRINGS):
        query = form_body({parameter: STRINGS[name]}).decode()
        response = as_manager.get(url, query_string=query)
        assert response.status_code in (200, 422), (url, parameter, name)
        page = response.get_data(as_text=True)
        assert not any(markup in page for markup in MARKUP) or url.endswith(".csv")
        if response.status_code == 422:
            assert "could not be read" in page


def test_the_queue_status_filter_and_task_completion_in_the_domain(app, seeded, ended):
    entries = recovery_queue.queue_entries(recovery_queue.NEEDS_ROOT_CAUSE, utcnow(), 10)
    assert [entry["case"] for entry in entries] == ["R-1"]
    task = db.session.scalar(sa.select(RecoveryTask.id).where(
        RecoveryTask.recovery_id == ended[1].id))  # fmt: skip
    with pytest.raises(root_causes.RootCauseError):
        recovery_queue.complete_task(task, "Done", "Jo", utcnow(), "nope")
    db.session.rollback()
    assert db.session.get_one(RecoveryTask, task).completed_at is None


def test_erasing_the_customer_blanks_the_leads_note(app, emulator, ended):
    app.config.update(HELPDESK="generic", HELPDESK_WEBHOOK_URL=f"{emulator.url}/hooks/helpdesk",
                      HELPDESK_WEBHOOK_SECRET=SECRET)  # fmt: skip
    recovery = ended[0]
    root_causes.record(recovery, "policy", "Customer 1 was told no", "lead@example.com", utcnow())
    db.session.commit()
    privacy.erase(recovery.case.customer, utcnow(), "admin@example.com")
    db.session.commit()
    recovery = reload(recovery.id)
    assert (recovery.root_cause.key, recovery.root_cause_note) == ("policy", "[redacted]")
    assert timeline(recovery)[0]["comment"] == "[redacted]"
    calls = db.session.scalars(sa.select(OutboundCall.payload).where(
        OutboundCall.key.like("helpdesk_note:root_cause:%"))).all()  # fmt: skip
    assert [call["comment"] for call in calls] == ["[redacted]"]


def test_the_migration_seeds_the_defaults_asks_only_for_later_ends_and_goes_back(
    app_config, tmp_path
):
    """0022 seeds the default causes and marks the recoveries that had ended before it
    (recovered, escalated, or a task completed) as not asked; open ones (a task still open,
    withdrawn without a completed task) stay asked for when they end."""
    from flask_migrate import downgrade, upgrade

    from followup import create_app

    config = {**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"}
    with create_app(config).app_context():
        upgrade(revision="0021")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO customers (id, name, locale, tags, created_at, updated_at) VALUES "
                "(1, 'Ana', 'en', '[]', '2026-01-01', '2026-01-01')"))  # fmt: skip
            for n, status in enumerate(["recovered", "escalated", "open", "open", "withdrawn"],
                                       start=1):  # fmt: skip
                conn.execute(sa.text(
                    "INSERT INTO cases (id, external_id, customer_id, subject, priority, tags, "
                    "status, round, created_at, updated_at) VALUES (:n, :ext, 1, 'Late', "
                    "'normal', '[]', 'closed', 1, '2026-03-01', '2026-03-01')"),
                    {"n": n, "ext": f"A-{n}"})  # fmt: skip
                conn.execute(sa.text(
                    "INSERT INTO recoveries (id, case_id, round, customer_id, channel, status, "
                    "started_at) VALUES (:n, :n, 1, 1, 'email', :status, "
                    "'2026-03-01 11:00:00')"), {"n": n, "status": status})  # fmt: skip
            for recovery, done in ((3, "'2026-03-02'"), (4, "NULL"), (5, "NULL")):
                conn.execute(sa.text(
                    "INSERT INTO recovery_tasks (recovery_id, case_id, title, due_at, "
                    f"completed_at, created_at) VALUES ({recovery}, {recovery}, 'Call', "
                    f"'2026-03-02', {done}, '2026-03-01')"))  # fmt: skip
        upgrade(revision="0022")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT key, name FROM root_causes ORDER BY position"))
            assert [tuple(row) for row in rows] == list(DEFAULTS)
            asked = conn.execute(sa.text("SELECT id, root_cause_asked FROM recoveries ORDER BY id"))
            assert [(n, bool(flag)) for n, flag in asked] == [
                (1, False), (2, False), (3, False), (4, True), (5, True)]  # fmt: skip
        downgrade(revision="0021")
        assert "root_causes" not in sa.inspect(db.engine).get_table_names()
        columns = sa.inspect(db.engine).get_columns("recoveries")
        assert "root_cause_asked" not in {column["name"] for column in columns}
        db.engine.dispose()


def test_recoveries_ended_before_root_causes_are_not_asked_for_one(as_lead, ended):
    """A recovery the migration marked not asked is neither flagged, in the queue's tab nor
    counted as ended without a cause; a lead may still record one."""
    old = ended_recovery(3)
    old.root_cause_asked = False
    db.session.commit()
    assert [e["case"] for e in recovery_queue.queue_entries(
        recovery_queue.NEEDS_ROOT_CAUSE, utcnow(), 10)] == ["R-1"]  # fmt: skip
    page = as_lead.get("/admin/recoveries?status=escalated").get_data(as_text=True)
    card = page.split('id="recovery-' + str(old.id) + '"')[1].split("</article>")[0]
    assert "root cause needed" not in card and "ended before root causes were asked" in card
    today = root_causes.Scope(utcnow().date(), utcnow().date())
    assert root_causes.figures(today).not_recorded == 1  # R-1 only
    assert record_form(as_lead, old.id, "policy").status_code == 303
    assert reload(old.id).root_cause.key == "policy"


def test_recording_what_the_row_already_says_changes_nothing_whatever_was_read(app, ended):
    """The no-change check is the UPDATE's: a recovery read before another session recorded
    the same cause and note (its copy still without one) records nothing a second time."""
    recovery = reload(ended[0].id)
    assert recovery.root_cause_id is None
    other = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.begin() as conn:  # another lead, in their own session, first
        conn.execute(sa.update(Recovery).where(Recovery.id == recovery.id).values(
            root_cause_id=root_causes.by_key("policy").id, root_cause_note="Refund rule",
            root_cause_by="jo@example.com", root_cause_at=utcnow(),
            root_cause_changes=1))  # fmt: skip
    other.dispose()
    assert recovery.root_cause_id is None  # this session's copy: not refreshed
    assert root_causes.record(recovery, "policy", " Refund rule ", "lee@example.com", utcnow()) \
        is False  # fmt: skip
    db.session.commit()
    assert (recovery.root_cause_by, recovery.root_cause_changes) == ("jo@example.com", 1)
    assert timeline(recovery) == [] and not db.session.scalar(sa.select(OutboundCall.id).where(
        OutboundCall.key.like("helpdesk_note:root_cause:%")))  # fmt: skip
    assert root_causes.record(recovery, "policy", None, "lee@example.com", utcnow()) is True


def test_two_identical_recordings_at_once_are_recorded_once(app, client, seeded, ended):
    """PostgreSQL: an API call recording what another transaction is recording (not yet
    committed) waits for its row lock, then finds nothing to change: changed false, no second
    timeline line or helpdesk note."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite writes one at a time)")
    recovery, policy = ended[0].id, root_causes.by_key("policy").id
    db.session.rollback()  # this session's connection back to the pool, for the request's
    body = {"root_cause": "policy", "note": "Refund rule", "recorded_by": "Jo"}
    url = f"/api/v1/recoveries/{recovery}/root-cause"
    other = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    answers = []
    request = threading.Thread(target=lambda: answers.append(
        client.post(url, json=body, headers=seeded["auth"])))  # fmt: skip
    with other.connect() as conn:
        with conn.begin():
            conn.execute(sa.update(Recovery).where(Recovery.id == recovery).values(
                root_cause_id=policy, root_cause_note="Refund rule",
                root_cause_by="jo@example.com", root_cause_at=utcnow(),
                root_cause_changes=1))  # fmt: skip
            request.start()
            waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                              "'Lock' AND datname = current_database()")  # fmt: skip
            wait_until(lambda: conn.execute(waiting).scalar(), 60, "the API call to wait")
        request.join(60)
    other.dispose()
    [answer] = answers
    assert answer.status_code == 200 and answer.json["changed"] is False
    assert answer.json["root_cause"]["by"] == "jo@example.com"
    assert timeline(reload(recovery)) == []


def test_the_domain_and_the_forms_clean_text_the_one_way():
    from followup.text import clean_text
    from followup.web import forms

    assert forms.clean_text is clean_text
    for value in STRINGS.values():
        if len(value) <= root_causes.MAX_NOTE and "\ud800" not in value:
            assert root_causes.clean_note(value) == (clean_text(value) or None)
