"""Incident pause: a case closing in a declared incident (window and segment) gets no survey
("paused for incident" on its timeline, counted), one planned before the declaration is held
at dispatch, held surveys are dropped after the end while cases closed after it are surveyed,
the apology cadence replaces a case's own; the window's edges; an incident left open ends
after 7 days and alerts the managers once; a retried declaration (same external_id) makes one
incident; the API (scopes, refusals) and the console page (roles, hostile input, audit, times
in the organisation's zone); the dashboard marks the weeks an incident overlaps."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from followup import incident_alerts, incidents
from followup.api_keys import create_api_key
from followup.cases import close_case
from followup.extensions import db
from followup.models import (
    Alert,
    AuditEntry,
    Case,
    CaseEvent,
    Incident,
    IncidentHold,
    Message,
    User,
)
from followup.models.base import utcnow
from followup.models.users import ApiScope
from followup.setup import add_cadence
from tests.support.cases import close, sweep_and_dispatch
from tests.support.console import csrf_token, password_hash, sign_in
from tests.support.hostile import FORM, MARKUP, PATH_SEGMENTS, STRINGS, form_body

CHECK_IN_DUE = timedelta(hours=24, minutes=1)


def case_body(external_id: str, team: str | None = None, tags=()) -> dict:
    customer = {"name": "Ana Lima", "email": f"{external_id.lower()}@example.com"}
    return {"external_id": external_id, "subject": "Card declined", "team": team,
            "tags": list(tags), "customer": customer}  # fmt: skip


def declare(client, auth, **fields):
    body = {"name": "Payments outage", **fields}
    return client.post("/api/v1/incidents", json=body, headers=auth)


def plan(external_id: str) -> dict[str, Message]:
    case = db.session.scalar(sa.select(Case).where(Case.external_id == external_id))
    rows = db.session.scalars(sa.select(Message).where(Message.case_id == case.id))
    return {m.step.name: m for m in rows}


def timeline(external_id: str) -> list[CaseEvent]:
    case = db.session.scalar(sa.select(Case).where(Case.external_id == external_id))
    return list(db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)))


def test_a_case_closed_in_the_incident_gets_no_survey_and_one_closed_after_its_end_does(
    client, seeded
):
    auth = seeded["auth"]
    incident = declare(client, auth, segment={"teams": ["Billing"]}).json
    assert incident["state"] == "active" and incident["segment"]["teams"] == ["billing"]
    assert close(client, auth, case_body("IN-1", team="billing")).status_code == 202
    assert close(client, auth, case_body("OUT-1", team="Shipping")).status_code == 202

    held = plan("IN-1")
    reason = f"paused for incident: Payments outage (incident {incident['id']})"
    assert (held["check-in"].status, held["check-in"].error) == ("suppressed", reason)
    assert (held["reminder"].status, held["reminder"].error) == ("suppressed", reason)
    assert held["thank-you"].status == "scheduled"  # no survey in it: not held
    assert {m.status for m in plan("OUT-1").values()} == {"scheduled"}
    suppressed = [e for e in timeline("IN-1") if e.kind == "message.suppressed"]
    assert [e.detail for e in suppressed] == [{"reason": reason, "incident_id": incident["id"]}] * 2
    closed = next(e for e in timeline("IN-1") if e.kind == "case.closed")
    assert closed.detail["incident_id"] == incident["id"] and not closed.detail["apology"]

    ended = client.post(f"/api/v1/incidents/{incident['id']}/end", headers=auth)
    assert ended.status_code == 200 and ended.json["state"] == "ended"
    assert (ended.json["cases_held"], ended.json["messages_held"]) == (1, 2)
    again = client.post(f"/api/v1/incidents/{incident['id']}/end", headers=auth)
    assert again.status_code == 409

    assert close(client, auth, case_body("AFTER-1", team="Billing")).status_code == 202
    sweep_and_dispatch(at=utcnow() + CHECK_IN_DUE)
    assert plan("AFTER-1")["check-in"].status == "sent"
    assert plan("IN-1")["check-in"].status == "suppressed"  # dropped, not sent late


def test_surveys_planned_before_the_declaration_are_held_at_dispatch_and_stay_dropped(
    client, seeded
):
    auth = seeded["auth"]
    assert close(client, auth, case_body("EARLY-1", tags=["Checkout"])).status_code == 202
    assert close(client, auth, case_body("OTHER-1", tags=["returns"])).status_code == 202
    incident = declare(
        client, auth, starts_at=(utcnow() - timedelta(hours=1)).isoformat(),
        segment={"tags": ["checkout", "payments"]},
    ).json  # fmt: skip
    assert client.post(f"/api/v1/incidents/{incident['id']}/end", headers=auth).status_code == 200

    sweep_and_dispatch(at=utcnow() + CHECK_IN_DUE)
    check_in = plan("EARLY-1")["check-in"]
    assert check_in.status == "suppressed" and check_in.error.startswith("paused for incident")
    event = next(e for e in timeline("EARLY-1") if e.message_id == check_in.id)
    assert event.kind == "message.suppressed" and event.detail["incident_id"] == incident["id"]
    assert plan("OTHER-1")["check-in"].status == "sent"
    sweep_and_dispatch(at=utcnow() + timedelta(days=3, hours=1))
    assert plan("EARLY-1")["reminder"].status == "suppressed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IncidentHold)) == 2
    shown = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth).json
    assert (shown["cases_held"], shown["messages_held"]) == (1, 2)


def test_the_window_holds_a_case_closed_at_its_start_not_one_closed_at_its_end_or_before(
    client, seeded
):
    auth = seeded["auth"]
    start = utcnow().replace(microsecond=0) - timedelta(hours=2)
    end = start + timedelta(hours=1)
    declare(client, auth, starts_at=start.isoformat(), ends_at=end.isoformat())
    edges = {"AT-START": start, "AT-END": end, "BEFORE": start - timedelta(seconds=1)}
    for external_id, at in edges.items():
        assert (
            client.post("/api/v1/cases", json=case_body(external_id), headers=auth).status_code
            == 201
        )
        case = db.session.scalar(sa.select(Case).where(Case.external_id == external_id))
        assert close_case(case, None, at)
    db.session.commit()
    assert plan("AT-START")["check-in"].error.startswith("paused for incident")
    sweep_and_dispatch(at=utcnow() + CHECK_IN_DUE)  # the send-time check: the same window
    assert plan("AT-START")["check-in"].status == "suppressed"
    assert plan("AT-END")["check-in"].status == plan("BEFORE")["check-in"].status == "sent"


def test_a_case_closed_before_an_incident_starts_keeps_its_survey(client, seeded):
    auth = seeded["auth"]
    assert close(client, auth, case_body("EARLIER-1")).status_code == 202
    declare(client, auth, starts_at=(utcnow() + timedelta(minutes=1)).isoformat())
    sweep_and_dispatch(at=utcnow() + CHECK_IN_DUE)  # the incident is active by then
    assert plan("EARLIER-1")["check-in"].status == "sent"


def test_an_incident_left_open_ends_after_7_days_and_alerts_the_managers_once(client, seeded):
    auth = seeded["auth"]
    begun = (utcnow() - timedelta(days=8)).replace(microsecond=0)
    old = declare(client, auth, name="Forgotten", starts_at=begun.isoformat(),
                  segment={"teams": ["billing"]}).json  # fmt: skip
    assert old["state"] == "ended" and old["ends_at"] == (begun + timedelta(days=7)).isoformat()
    two_days = (utcnow() - timedelta(days=2)).isoformat()
    still = declare(client, auth, name="Still open", starts_at=two_days,
                    segment={"teams": ["shipping"]}).json  # fmt: skip
    declare(client, auth, name="Planned", starts_at=two_days, segment={"teams": ["shipping"]},
            ends_at=(utcnow() + timedelta(days=1)).isoformat())  # fmt: skip
    declare(client, auth, name="Just begun", segment={"teams": ["shipping"]})
    assert close(client, auth, case_body("BILLING-1", team="Billing")).status_code == 202
    assert plan("BILLING-1")["check-in"].status == "scheduled"  # the old one holds no more

    assert incident_alerts.flag_open_ended(utcnow()) == 1
    assert incident_alerts.flag_open_ended(utcnow()) == 0
    alert = db.session.scalar(sa.select(Alert))
    assert (alert.key, alert.audience, alert.kind) == (
        f"incident.open:{still['id']}",
        "manager",
        "incident.open",
    )
    assert "Still open" in alert.title and "teams shipping" in alert.detail


def test_a_retried_declaration_with_the_same_external_id_makes_one_incident(client, seeded):
    auth = seeded["auth"]
    first = declare(client, auth, external_id="sp-123")
    again = declare(client, auth, external_id=" sp-123 ", name="Sent again")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json and first.json["external_id"] == "sp-123"
    assert declare(client, auth, external_id="sp-124").status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 2
    found = client.get("/api/v1/incidents?external_id=sp-123", headers=auth).json["incidents"]
    assert [i["id"] for i in found] == [first.json["id"]]
    for unknown in ("sp-999", "", "x" * 201, "a\x00b"):
        listed = client.get("/api/v1/incidents", query_string={"external_id": unknown},
                            headers=auth)  # fmt: skip
        assert listed.status_code == 200 and listed.json["incidents"] == [], unknown
    assert declare(client, auth, external_id="x" * 201).status_code == 422
    assert declare(client, auth, external_id="a\x00b").status_code == 422


def test_a_retry_racing_the_first_declaration_answers_the_winner(client, seeded, monkeypatch):
    first = declare(client, seeded["auth"], external_id="sp-race").json
    looked = []  # the race: the retry's look-up ran before the first one committed

    def late(external_id):
        looked.append(external_id)
        return None if len(looked) == 1 else real(external_id)

    real = incidents.by_external_id
    monkeypatch.setattr(incidents, "by_external_id", late)
    again = declare(client, seeded["auth"], external_id="sp-race", name="Retried")
    assert (again.status_code, again.json["id"], len(looked)) == (200, first["id"], 2)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 1


def test_the_apology_cadence_replaces_a_case_s_own_and_is_not_held(client, seeded):
    auth = seeded["auth"]
    apology = add_cadence("Outage apology", "close",
                          [("sorry", 0, "email", "thank_you", None, "always")])  # fmt: skip
    db.session.commit()
    incident = declare(client, auth, apology_cadence_id=apology.id).json
    assert incident["apology_cadence"] == {"id": apology.id, "name": "Outage apology"}
    response = close(client, auth, case_body("SORRY-1"))
    assert response.json["case"]["cadence"] == "Outage apology"
    sweep_and_dispatch()
    assert plan("SORRY-1")["sorry"].status == "sent"
    closed = next(e for e in timeline("SORRY-1") if e.kind == "case.closed")
    assert closed.detail["apology"] is True


@pytest.fixture
def agent(app, users):
    user = User(email="agent@example.com", role="agent", name="Test Agent", agent="Sam Rivera",
                password_hash=password_hash(), session_version=1)  # fmt: skip
    db.session.add(user)
    db.session.commit()
    return user


ROUTES = [("get", "/admin/incidents"), ("post", "/admin/incidents"),
          ("get", "/admin/incidents/{id}"), ("post", "/admin/incidents/{id}/end")]  # fmt: skip


@pytest.mark.parametrize("role, reads, changes", [
    ("admin", True, True), ("lead", True, True), ("manager", True, False),
    ("agent", False, False), (None, False, False),
])  # fmt: skip
def test_who_may_see_declare_and_end_incidents(client, seeded, agent, role, reads, changes):
    incident = declare(client, seeded["auth"]).json["id"]
    if role:
        assert sign_in(client, f"{role}@example.com").status_code == 303
    token = csrf_token(client, "/admin/sign-in")
    for method, path in ROUTES:
        path = path.format(id=incident)
        data = {"csrf_token": token, "name": f"By {role}"}
        response = client.get(path) if method == "get" else client.post(path, data=data)
        allowed = reads if method == "get" else changes
        if role is None:
            assert response.status_code == 302, path
        elif not allowed:
            assert response.status_code == 403, path
        else:
            assert response.status_code in (200, 303), (path, response.status_code)
    declared = db.session.scalars(sa.select(Incident.name).order_by(Incident.id)).all()
    assert declared == ["Payments outage"] + ([f"By {role}"] if changes else [])


def test_a_lead_declares_and_ends_an_incident_in_the_console_audited(as_lead, seeded):
    apology = add_cadence("Outage apology", "close",
                          [("sorry", 0, "email", "apology", None, "always")])  # fmt: skip
    db.session.commit()
    data = {"csrf_token": csrf_token(as_lead, "/admin/incidents"), "name": "Checkout <down>",
            "starts_at": "", "ends_at": "", "tags": "checkout, Payments ,checkout",
            "teams": "", "sources": "chat", "apology_cadence": str(apology.id)}  # fmt: skip
    response = as_lead.post("/admin/incidents", data=data)
    assert response.status_code == 303
    incident = db.session.scalar(sa.select(Incident))
    assert (incident.tags, incident.teams, incident.sources) == (["checkout", "payments"], [],
                                                                 ["chat"])  # fmt: skip
    assert incident.created_by == "lead@example.com"
    page = as_lead.get(response.headers["Location"]).text
    assert "Checkout &lt;down&gt;" in page and "Outage apology" in page and "End now" in page
    ended = as_lead.post(f"/admin/incidents/{incident.id}/end",
                         data={"csrf_token": csrf_token(as_lead, "/admin/incidents")})  # fmt: skip
    assert ended.status_code == 303
    again = as_lead.post(f"/admin/incidents/{incident.id}/end",
                         data={"csrf_token": csrf_token(as_lead, "/admin/incidents")})  # fmt: skip
    assert again.status_code == 409 and "ended already" in again.text
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "incident"))
    assert [(e.action, e.actor) for e in entries] == [("create", "lead@example.com"),
                                                      ("update", "lead@example.com")]  # fmt: skip
    listing = as_lead.get("/admin/incidents").text
    assert "Checkout &lt;down&gt;" in listing and "tags checkout, payments; sources chat" in listing


def _console_data(client, token=None, **fields) -> dict:
    return {"csrf_token": token or csrf_token(client, "/admin/incidents"), "name": "Outage",
            "starts_at": "", "ends_at": "", "tags": "", "teams": "", "sources": "",
            "apology_cadence": "", **fields}  # fmt: skip


@pytest.mark.parametrize(
    "name", ["name", "starts_at", "ends_at", "tags", "teams", "sources", "apology_cadence"]
)
def test_hostile_console_fields_are_refused_with_a_message_or_taken_as_text(as_lead, seeded, name):
    token = csrf_token(as_lead, "/admin/incidents")
    for label, value in STRINGS.items():
        data = _console_data(as_lead, token, **{name: value})
        response = as_lead.post("/admin/incidents", data=form_body(data),
                                headers={"Content-Type": FORM})  # fmt: skip
        assert response.status_code in (303, 400, 422), (label, response.status_code)
        if response.status_code == 422:
            assert "There is a problem" in response.text, label
        assert not any(marker in response.text for marker in MARKUP), label
    stored = db.session.scalars(sa.select(Incident)).all()
    if name in ("starts_at", "ends_at", "apology_cadence"):  # no hostile string is a moment
        assert len(stored) == (1 if name != "apology_cadence" else 0)  # a blank one: now


def test_a_console_time_is_read_and_shown_in_the_organisation_s_zone(app, as_lead, seeded):
    app.config["TIMEZONE"] = "America/New_York"
    day = (utcnow() - timedelta(days=2)).date()
    data = _console_data(as_lead, starts_at=f"{day}T10:00", ends_at=f"{day}T12:30")
    assert as_lead.post("/admin/incidents", data=data).status_code == 303
    stored = db.session.scalar(sa.select(Incident))
    assert stored.starts_at == datetime.combine(day, time(10), ZoneInfo("America/New_York"))
    assert stored.starts_at.utcoffset() == timedelta(0)
    window = f"{day} 10:00 to {day} 12:30"
    assert window in as_lead.get("/admin/incidents").text
    assert f"{window} America/New_York" in as_lead.get("/dashboard/?period=30d").text


CONSOLE_REFUSALS = [
    ({"starts_at": "2026-01-02T10:00", "ends_at": "2026-01-02T09:00"}, "after the start"),
    ({"starts_at": "1999-01-01T00:00"}, "days ago"),
    ({"starts_at": "9999-12-31T23:59"}, "ahead"),
    ({"starts_at": "0001-01-01T00:00"}, "days ago"),
    ({"ends_at": "9999-12-31T23:59"}, "at most 90 days"),
    ({"tags": ", ".join(f"t{i}" for i in range(51))}, "at most 50"),
    ({"teams": "x" * 101}, "at most 100"),
    ({"apology_cadence": "999999"}, "Not a valid choice"),
    ({"name": "   "}, "Enter a name"),
]  # fmt: skip


def test_console_refuses_bad_windows_huge_segments_and_unknown_cadences(as_lead, seeded):
    token = csrf_token(as_lead, "/admin/incidents")
    for fields, problem in CONSOLE_REFUSALS:
        if "starts_at" in fields and "ends_at" in fields:  # a recent window, in the wrong order
            today = utcnow().date().isoformat()
            fields = {"starts_at": f"{today}T10:00", "ends_at": f"{today}T09:00"}
        response = as_lead.post("/admin/incidents", data=_console_data(as_lead, token, **fields))
        assert response.status_code == 422 and problem in response.text, (fields, problem)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_hostile_paths_are_404s(as_lead, seeded):
    token = csrf_token(as_lead, "/admin/incidents")
    for segment in PATH_SEGMENTS.values():
        for path in (f"/admin/incidents/{segment}", f"/api/v1/incidents/{segment}"):
            assert as_lead.get(path, headers=seeded["auth"]).status_code == 404, path
        ended = as_lead.post(f"/api/v1/incidents/{segment}/end", headers=seeded["auth"])
        assert ended.status_code == 404 and ended.json["error"] == "not_found", segment
        ended = as_lead.post(f"/admin/incidents/{segment}/end", data={"csrf_token": token})
        assert ended.status_code == 404, segment


@pytest.fixture
def incident_keys(app, seeded):
    made = {scope: create_api_key(f"{scope} key", scope)[1] for scope in ApiScope}
    db.session.commit()
    return {scope: {"Authorization": f"Bearer {key}"} for scope, key in made.items()}


def test_only_incidents_and_full_keys_reach_the_incident_api(client, incident_keys):
    for scope, auth in incident_keys.items():
        allowed = scope in (ApiScope.INCIDENTS, ApiScope.FULL)
        created = declare(client, auth, name=f"By {scope}")
        assert created.status_code == (201 if allowed else 403), scope
        listed = client.get("/api/v1/incidents", headers=auth)
        assert listed.status_code == (200 if allowed else 403), scope
    names = [i["name"] for i in listed.json["incidents"]]
    assert sorted(names) == ["By full", "By incidents"]
    auth = incident_keys[ApiScope.INCIDENTS]
    assert len(client.get("/api/v1/incidents?limit=1", headers=auth).json["incidents"]) == 1
    for limit in ("0", "501", "-1", "1e3", "\u00b2"):
        assert client.get(f"/api/v1/incidents?limit={limit}", headers=auth).status_code == 422
    incident = listed.json["incidents"][0]["id"]
    for scope, auth in incident_keys.items():
        allowed = scope in (ApiScope.INCIDENTS, ApiScope.FULL)
        shown = client.get(f"/api/v1/incidents/{incident}", headers=auth)
        assert shown.status_code == (200 if allowed else 403), scope
    intake = incident_keys[ApiScope.INTAKE]
    assert client.post(f"/api/v1/incidents/{incident}/end", headers=intake).status_code == 403
    ended = client.post(f"/api/v1/incidents/{incident}/end", headers=incident_keys["incidents"])
    assert ended.status_code == 200 and ended.json["ended_by"] == "API key 'incidents key'"
    actors = db.session.scalars(sa.select(AuditEntry.actor).where(AuditEntry.entity == "incident"))
    assert set(actors) == {"API key 'full key'", "API key 'incidents key'"}


LATER = (utcnow() + timedelta(days=400)).isoformat()
BAD_BODIES = {
    "ends_before_start": ({"starts_at": "2026-01-02T10:00:00+00:00",
                           "ends_at": "2026-01-02T09:00:00+00:00"}, "ends_at"),
    "absurd_start": ({"starts_at": "0001-01-01T00:00:00+14:00"}, "starts_at"),
    "far_future": ({"starts_at": LATER}, "starts_at"),
    "naive_start": ({"starts_at": "2026-01-02T10:00:00"}, "starts_at"),
    "too_long": ({"ends_at": "2999-01-01T00:00:00Z"}, "ends_at"),
    "unknown_cadence": ({"apology_cadence_id": 424242}, "apology_cadence_id"),
    "cadence_id_overflow": ({"apology_cadence_id": 2**63}, "apology_cadence_id"),
    "huge_segment": ({"segment": {"tags": [f"t{i}" for i in range(51)]}}, "segment.tags"),
    "long_value": ({"segment": {"teams": ["x" * 101]}}, "segment.teams.0"),
    "unknown_segment_field": ({"segment": {"priorities": ["high"]}}, "segment.priorities"),
    "blank_name": ({"name": "   "}, "name"),
    "long_name": ({"name": "n" * 201}, "name"),
    "wrong_type": ({"segment": ["tags"]}, "segment"),
}  # fmt: skip


def test_the_api_refuses_bad_incidents_naming_the_field_and_stores_nothing(client, seeded):
    for label, (fields, field) in BAD_BODIES.items():
        if label == "ends_before_start":  # a recent window, so only its order is wrong
            start = utcnow().replace(microsecond=0)
            fields = {"starts_at": start.isoformat(),
                      "ends_at": (start - timedelta(hours=1)).isoformat()}  # fmt: skip
        response = declare(client, seeded["auth"], **fields)
        assert response.status_code == 422, (label, response.json)
        assert field in [f["field"] for f in response.json["fields"]], (label, response.json)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_hostile_strings_in_each_api_field_are_a_4xx_or_taken_as_text(client, seeded):
    for label, value in STRINGS.items():
        for body in ({"name": value}, {"name": "x", "starts_at": value},
                     {"name": "x", "ends_at": value},
                     {"name": "x", "segment": {"tags": [value], "teams": [value],
                                               "sources": [value]}},
                     {"name": "x", "apology_cadence_id": value},
                     {"name": "x", "external_id": value}):  # fmt: skip
            response = client.post("/api/v1/incidents", json=body, headers=seeded["auth"])
            assert response.status_code in (200, 201, 400, 422), (label, body, response.status_code)
            if response.status_code not in (200, 201):
                assert response.json["message"], (label, body)
            elif "name" in body and body["name"] == value:
                assert response.json["name"] == value.strip()  # text, as sent
    assert all("\x00" not in i.name for i in db.session.scalars(sa.select(Incident)))


def test_the_dashboard_lists_and_marks_the_weeks_an_incident_overlaps(as_manager, seeded):
    declare(as_manager, seeded["auth"], name="Payments <outage>",
            starts_at=(utcnow() - timedelta(days=2)).isoformat(),
            ends_at=(utcnow() - timedelta(days=1)).isoformat(),
            segment={"teams": ["Billing"]})  # fmt: skip
    called_off = declare(as_manager, seeded["auth"], name="Called off",
                         starts_at=(utcnow() - timedelta(days=2)).isoformat()).json  # fmt: skip
    db.session.execute(sa.update(Incident).where(Incident.id == called_off["id"])
                       .values(ended_at=utcnow() - timedelta(days=3)))  # fmt: skip
    db.session.commit()
    page = as_manager.get("/dashboard/?period=30d").text
    assert "Called off" not in page
    assert "Incidents in these weeks" in page and "Payments &lt;outage&gt;" in page
    assert "teams billing" in page
    assert page.count('data-incident="Payments &lt;outage&gt;"') == 3  # one week, three charts
    figures = as_manager.get("/dashboard/figures.json?period=30d").json
    assert figures["trends"][-1]["incidents"] == ["Payments <outage>"]  # not the called-off one
    assert figures["trends"][0]["incidents"] == []
    other_team = as_manager.get("/dashboard/?period=30d&team=Shipping").text
    assert "Incidents in these weeks" not in other_team


def test_the_health_page_counts_the_surveys_paused_and_the_incidents_active(as_admin, seeded):
    declare(as_admin, seeded["auth"])
    assert close(as_admin, seeded["auth"], case_body("IN-1")).status_code == 202
    page = as_admin.get("/admin/health").text
    held = page.split('id="incident-held">')[1].split("</dd>")[0]
    assert held.startswith("2 ") and "1 incident active" in held
