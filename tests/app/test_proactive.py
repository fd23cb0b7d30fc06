"""Proactive outreach: a cadence's "risk at least X" rule and its proactive task (the editor
refuses a task due after the survey), the task opened before the survey for a high-risk close
and not for a low one, the deterministic holdout and its record, a reopen cancelling the open
task, completing a task from the recovery queue and the API (once; hostile input refused), and
the dashboard's handled vs held-out comparison with its intervals, by role."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from followup import proactive
from followup.cadences import case_facts, rules_match
from followup.config import load_settings
from followup.extensions import db
from followup.models import (
    Cadence,
    CaseEvent,
    Message,
    MessageTemplate,
    ProactiveHoldout,
    ProactiveTask,
    Survey,
)
from followup.models.base import utcnow
from tests.support.agents import agent_user
from tests.support.cadences import cadence_form, current, ids, step
from tests.support.console import csrf_token, sign_in
from tests.support.figures import add_cases, add_facts
from tests.support.hostile import STRINGS

TITLE = "Call the customer before the survey"
# C's rules: reopened twice and over a week to resolve scores 67%; nothing reported, 10%.
RISKY = {"reopen_count": 2, "resolution_minutes": 8 * 24 * 60}


def proactive_form(client, path, due_hours="24", survey_delay=2, **fields):
    """A close cadence for cases of risk 50% or more: thanks at once, the survey after
    `survey_delay` days, a call due after `due_hours`."""
    templates = ids(MessageTemplate, MessageTemplate.key, ["thank_you", "csat_checkin"])
    surveys = ids(Survey, Survey.key, ["csat"])
    steps = [step("thank-you", 0, "minutes", "email", templates["thank_you"]),
             step("check-in", survey_delay, "days", "email", templates["csat_checkin"],
                  surveys["csat"])]  # fmt: skip
    settings = {"tags": "", "min_risk": "50", "proactive_task": TITLE,
                "proactive_due_hours": due_hours, "position": "0", **fields}  # fmt: skip
    return cadence_form(client, path, name="Call first", steps=steps, **settings)


@pytest.fixture
def call_first(app, as_lead, seeded):
    """The lead's proactive cadence (no holdout unless a test sets one)."""
    app.config["PROACTIVE_HOLDOUT_PERCENT"] = 0
    response = as_lead.post(
        "/admin/cadences/new", data=proactive_form(as_lead, "/admin/cadences/new")
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return current("Call first")


def close(client, auth, external_id, **signals):
    body = {"external_id": external_id, "subject": "Parcel <b>lost</b>",
            "agent": {"name": "Sam Rivera", "email": "sam@acme.com"},
            "customer": {"name": "Ana <i>Lima</i>", "email": f"{external_id.lower()}@example.com"},
            **signals}  # fmt: skip
    assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
    response = client.post(f"/api/v1/cases/{external_id}/close", headers=auth)
    assert response.status_code == 202, response.json
    return response.json


def events(kind: str) -> list[CaseEvent]:
    return list(db.session.scalars(sa.select(CaseEvent).where(CaseEvent.kind == kind)))


def test_a_high_risk_case_gets_a_task_due_before_its_survey_and_a_low_one_does_not(
    as_lead, seeded, call_first
):
    assert call_first.rules == {"min_risk": 50}
    assert (call_first.proactive_task, call_first.proactive_due_hours) == (TITLE, 24)
    page = as_lead.get(f"/admin/cadences/{call_first.id}").get_data(as_text=True)
    assert "risk is at least 50%" in page and TITLE in page
    assert f"a person gets the task <strong>{TITLE}</strong>, due 24 hours after" in page

    plan = close(as_lead, seeded["auth"], "P-1", **RISKY)
    assert plan["case"]["cadence"] == "Call first"
    [task] = db.session.scalars(sa.select(ProactiveTask))
    assert (task.title, task.assignee, task.round, task.cadence_id) == (
        TITLE, "sam@acme.com", 1, call_first.id
    )  # fmt: skip
    assert task.risk_score == pytest.approx(0.67, abs=0.01)
    messages = db.session.scalars(sa.select(Message).where(Message.case_id == task.case_id))
    first_survey = min(m.due_at for m in messages if m.step.survey_id is not None)
    assert task.due_at < first_survey
    [created] = events("proactive.task_created")
    assert created.detail["task_id"] == task.id and created.detail["title"] == TITLE

    timeline = as_lead.get("/dashboard/cases/P-1").get_data(as_text=True)
    assert "proactive.task_created" in timeline and TITLE in timeline

    low = close(as_lead, seeded["auth"], "P-2")
    assert low["case"]["cadence"] == "Standard"
    assert db.session.scalar(sa.select(sa.func.count(ProactiveTask.id))) == 1
    # The editor shows the rule and the task back.
    form = as_lead.get(f"/admin/cadences/{call_first.id}/edit").get_data(as_text=True)
    assert 'name="min_risk"' in form and 'value="50"' in form and TITLE in form


def test_the_editor_refuses_a_task_due_after_the_survey(as_lead, seeded):
    data = proactive_form(as_lead, "/admin/cadences/new", due_hours="48", survey_delay=1)
    response = as_lead.post("/admin/cadences/new", data=data)
    assert response.status_code == 422
    assert "asks the survey by then" in response.get_data(as_text=True)
    for bad in ("101", "-1", "x"):
        data = proactive_form(as_lead, "/admin/cadences/new", min_risk=bad)
        assert as_lead.post("/admin/cadences/new", data=data).status_code == 422
    data = proactive_form(as_lead, "/admin/cadences/new", proactive_task="x" * 301)
    assert as_lead.post("/admin/cadences/new", data=data).status_code == 422
    assert current("Call first") is None
    data = proactive_form(as_lead, "/admin/cadences/new", show_preview="Preview")
    del data["save"]
    preview = as_lead.post("/admin/cadences/new", data=data).get_data(as_text=True)
    assert f"a person gets the task <strong>{TITLE}</strong>, due 24 hours after" in preview
    assert current("Call first") is None


def test_nul_characters_in_the_cadence_form_are_dropped(as_lead, seeded):
    data = proactive_form(as_lead, "/admin/cadences/new", tags="vip\x00",
                          proactive_task=TITLE.replace(" ", " \x00", 1))  # fmt: skip
    data["name"] = "Call\x00 first"
    data["steps-0-step_name"] = "thank\x00-you"

    response = as_lead.post("/admin/cadences/new", data=data)

    assert response.status_code == 303, response.get_data(as_text=True)
    saved = current("Call first")
    assert (saved.proactive_task, saved.rules["tags"]) == (TITLE, ["vip"])
    assert saved.steps[0].name == "thank-you"


@pytest.mark.parametrize("raw, expected", [("", 10), ("0", 0), ("100", 100), ("101", None),
                                           ("-1", None), ("ten", None)])  # fmt: skip
def test_the_holdout_setting(tmp_path, raw, expected):
    environ = {"FOLLOWUP_PROACTIVE_HOLDOUT_PERCENT": raw}
    if expected is None:
        with pytest.raises(SystemExit, match="FOLLOWUP_PROACTIVE_HOLDOUT_PERCENT"):
            load_settings(tmp_path, environ=environ)
    else:
        assert load_settings(tmp_path, environ=environ)["PROACTIVE_HOLDOUT_PERCENT"] == expected


@pytest.mark.parametrize(
    "rules, risk, matches",
    [
        ({"min_risk": 50}, 0.5, True),
        ({"min_risk": 50}, 0.4999, False),
        ({"min_risk": 29}, 0.29, True),  # no float rounding below the line
        ({"min_risk": 50}, None, False),  # not assessed: no match
        ({"min_risk": 0}, 0.0, True),
        ({"min_risk": 50, "tags": ["billing"]}, 0.9, False),
        ({"min_risk": 95, "priorities": ["normal"]}, 0.9, False),
        ({"min_risk": 50, "priorities": ["normal"]}, 0.9, True),
    ],
)
def test_the_risk_rule(rules, risk, matches):
    case = SimpleNamespace(priority="normal", tags=[], team=None, source_channel=None,
                           customer=SimpleNamespace(tags=[]), risk_score=risk)  # fmt: skip
    assert rules_match(rules, case_facts(case)) is matches


def test_the_holdout_is_deterministic_and_takes_about_its_share():
    picks = [proactive.in_holdout(case_id, 1, 10) for case_id in range(1, 3001)]
    assert picks == [proactive.in_holdout(case_id, 1, 10) for case_id in range(1, 3001)]
    assert 0.08 <= sum(picks) / len(picks) <= 0.12
    assert not any(proactive.in_holdout(i, 2, 0) for i in range(200))
    assert all(proactive.in_holdout(i, 2, 100) for i in range(200))
    # Another round of the same case is drawn again.
    assert [proactive.in_holdout(i, 1, 50) for i in range(50)] != [
        proactive.in_holdout(i, 2, 50) for i in range(50)
    ]


def test_a_held_out_case_takes_the_next_cadence_and_is_recorded(app, as_lead, seeded, call_first):
    app.config["PROACTIVE_HOLDOUT_PERCENT"] = 100
    plan = close(as_lead, seeded["auth"], "P-3", **RISKY)
    assert plan["case"]["cadence"] == "Standard"
    assert db.session.scalar(sa.select(sa.func.count(ProactiveTask.id))) == 0
    [held] = db.session.scalars(sa.select(ProactiveHoldout))
    assert (held.round, held.cadence_id) == (1, call_first.id)
    assert held.risk_score == pytest.approx(0.67, abs=0.01)
    [event] = events("proactive.held_out")
    assert event.detail["cadence"] == "Call first"


def test_a_default_proactive_cadence_takes_held_out_rounds_and_tasks_open_only_by_its_rule(
    app, as_lead, seeded, call_first
):
    """The proactive cadence as the default: a held-out round still finds it (as the default:
    no task), and neither a round it takes as the default (low risk) nor one the caller names
    it for opens a task; only its risk rule does, as only that rule's rounds are held out."""
    db.session.execute(sa.update(Cadence).values(is_default=False))
    call_first.is_default = True
    db.session.commit()
    app.config["PROACTIVE_HOLDOUT_PERCENT"] = 100
    assert close(as_lead, seeded["auth"], "P-6", **RISKY)["case"]["cadence"] == "Call first"
    assert db.session.scalar(sa.select(sa.func.count(ProactiveHoldout.case_id))) == 1

    app.config["PROACTIVE_HOLDOUT_PERCENT"] = 0
    assert close(as_lead, seeded["auth"], "P-7")["case"]["cadence"] == "Call first"
    body = {"external_id": "P-8", "customer": {"name": "Bo", "email": "bo@example.com"}, **RISKY}
    assert as_lead.post("/api/v1/cases", json=body, headers=seeded["auth"]).status_code == 201
    named = as_lead.post("/api/v1/cases/P-8/close", json={"cadence": "Call first"},
                         headers=seeded["auth"])  # fmt: skip
    assert named.status_code == 202 and named.json["case"]["cadence"] == "Call first"
    assert db.session.scalar(sa.select(sa.func.count(ProactiveTask.id))) == 0

    close(as_lead, seeded["auth"], "P-9", **RISKY)
    [task] = db.session.scalars(sa.select(ProactiveTask))
    assert task.case.external_id == "P-9"


def test_a_reopen_cancels_the_open_task(as_lead, seeded, call_first):
    close(as_lead, seeded["auth"], "P-4", **RISKY)
    response = as_lead.post("/api/v1/cases/P-4/reopen", headers=seeded["auth"])
    assert response.status_code in (200, 202), response.json
    db.session.expire_all()
    [task] = db.session.scalars(sa.select(ProactiveTask))
    assert (task.outcome, task.note, task.completed_by) == ("cancelled", "case reopened", None)
    assert task.completed_at is not None


@pytest.fixture
def open_task(as_lead, seeded, call_first) -> ProactiveTask:
    close(as_lead, seeded["auth"], "P-5", **RISKY)
    return db.session.scalar(sa.select(ProactiveTask))


def complete_in_console(client, task_id, **fields):
    data = {"csrf_token": csrf_token(client, "/admin/recoveries"), "outcome": "reached",
            "note": "", **fields}  # fmt: skip
    return client.post(f"/admin/recoveries/proactive/{task_id}/complete", data=data)


def test_the_queue_shows_open_tasks_and_a_lead_completes_one_once(as_lead, open_task):
    page = as_lead.get("/admin/recoveries").get_data(as_text=True)
    assert "Proactive outreach (1)" in page and TITLE in page and "risk 67%" in page
    assert "Ana &lt;i&gt;Lima&lt;/i&gt;" in page and "<i>Lima" not in page
    for bad in ({"outcome": "cancelled"}, {"outcome": STRINGS["script"]},
                {"note": "n" * 2001}):  # fmt: skip
        assert complete_in_console(as_lead, open_task.id, **bad).status_code == 422
    note = STRINGS["script"] + " promised a refund"
    response = complete_in_console(as_lead, open_task.id, outcome="left_message", note=note)
    assert response.status_code == 303
    db.session.expire_all()
    task = db.session.get(ProactiveTask, open_task.id)
    assert (task.outcome, task.note, task.completed_by) == (
        "left_message", note, "lead@example.com"
    )  # fmt: skip
    assert complete_in_console(as_lead, open_task.id).status_code == 409
    assert as_lead.post("/admin/recoveries/proactive/999999/complete",
                        data={"csrf_token": csrf_token(as_lead, "/admin/recoveries")}
                        ).status_code == 404  # fmt: skip
    assert "Proactive outreach (0)" in as_lead.get("/admin/recoveries").get_data(as_text=True)
    [done] = events("proactive.task_completed")
    assert done.detail["outcome"] == "left_message"


def test_erasure_redacts_the_note(as_lead, open_task):
    from followup.privacy import erase

    assert (
        complete_in_console(as_lead, open_task.id, note="Ana said her son is ill").status_code
        == 303
    )
    erase(open_task.case.customer, utcnow())
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ProactiveTask, open_task.id).note == "[redacted]"
    [done] = events("proactive.task_completed")
    assert "ill" not in str(done.detail)


def test_the_export_lists_the_task_and_erasure_cancels_it_when_open(open_task):
    from followup.privacy import erase, export

    customer = open_task.case.customer
    [document] = export(customer, utcnow())["cases"]
    [listed] = document["proactive_tasks"]
    assert (listed["id"], listed["title"], listed["outcome"]) == (open_task.id, TITLE, None)

    erase(customer, utcnow())
    db.session.commit()
    db.session.expire_all()
    task = db.session.get(ProactiveTask, open_task.id)
    assert task.completed_at is not None and task.outcome == "cancelled"
    assert task.note == "erasure: the customer's data was removed"
    assert proactive.open_tasks(utcnow(), 10) == []
    [done] = events("proactive.task_completed")
    assert done.detail["outcome"] == "cancelled"


def test_completing_needs_the_configure_ability_and_a_csrf_token(client, users, open_task):
    assert sign_in(client, "manager@example.com").status_code == 303
    page = client.get("/admin/recoveries").get_data(as_text=True)
    assert TITLE in page and "Record the outcome" not in page
    assert complete_in_console(client, open_task.id).status_code == 403
    client.post("/admin/sign-out", data={"csrf_token": csrf_token(client, "/admin/recoveries")})
    assert sign_in(client, "lead@example.com").status_code == 303
    missing = client.post(f"/admin/recoveries/proactive/{open_task.id}/complete",
                          data={"outcome": "reached"})  # fmt: skip
    assert missing.status_code in (400, 422)
    db.session.expire_all()
    assert db.session.get(ProactiveTask, open_task.id).completed_at is None


def test_the_api_lists_and_completes_tasks(client, seeded, open_task):
    auth = seeded["auth"]
    listed = client.get("/api/v1/proactive-tasks", headers=auth)
    assert listed.status_code == 200
    [item] = listed.json["proactive_tasks"]
    assert (item["id"], item["case"], item["title"], item["overdue"]) == (
        open_task.id, "P-5", TITLE, False
    )  # fmt: skip
    assert client.get("/api/v1/proactive-tasks?status=done", headers=auth).json == {
        "proactive_tasks": []
    }
    assert client.get("/api/v1/proactive-tasks?status=nope", headers=auth).status_code == 422
    path = f"/api/v1/proactive-tasks/{open_task.id}/complete"
    for body in ({"outcome": "cancelled", "completed_by": "x"},
                 {"outcome": STRINGS["sql"], "completed_by": "x"},
                 {"outcome": "reached", "completed_by": "x", "note": "n" * 2001},
                 {"outcome": "reached", "completed_by": "x", "note": STRINGS["nul"]},
                 {"outcome": "reached", "completed_by": STRINGS["blank"]},
                 {"outcome": "reached", "completed_by": "x", "note": 5},
                 {"outcome": ["reached"], "completed_by": "x"}):  # fmt: skip
        response = client.post(path, json=body, headers=auth)
        assert response.status_code == 422, (body, response.json)
    done = client.post(path, json={"outcome": "reached", "completed_by": "sam@acme.com",
                                   "note": "Happy now"}, headers=auth)  # fmt: skip
    assert done.status_code == 200, done.json
    assert (done.json["outcome"], done.json["note"], done.json["case"]) == (
        "reached", "Happy now", "P-5"
    )  # fmt: skip
    again = client.post(path, json={"outcome": "reached", "completed_by": "x"}, headers=auth)
    assert again.status_code == 409
    for unknown in ("999999", "abc", str(2**63)):
        response = client.post(
            f"/api/v1/proactive-tasks/{unknown}/complete",
            json={"outcome": "reached", "completed_by": "x"},
            headers=auth,
        )
        assert response.status_code == 404  # fmt: skip
    [item] = client.get("/api/v1/proactive-tasks?status=all", headers=auth).json["proactive_tasks"]
    assert item["completed_by"] == "sam@acme.com"
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/proactive-tasks" in paths
    assert "/api/v1/proactive-tasks/{task_id}/complete" in paths


@pytest.mark.parametrize("limit", ["9" * 5000, "0" * 5000 + "1", "501", "0"])
def test_a_limit_out_of_range_or_of_thousands_of_digits_is_a_422(client, seeded, limit):
    response = client.get(f"/api/v1/proactive-tasks?limit={limit}", headers=seeded["auth"])

    assert response.status_code == 422


def test_the_api_needs_a_full_key_to_complete(client, seeded, open_task):
    from followup.api_keys import create_api_key
    from followup.models.users import ApiScope

    _, key = create_api_key("reader", ApiScope.READ)
    db.session.commit()
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/proactive-tasks", headers=auth).status_code == 200
    response = client.post(
        f"/api/v1/proactive-tasks/{open_task.id}/complete",
        json={"outcome": "reached", "completed_by": "x"},
        headers=auth,
    )
    assert response.status_code == 403  # fmt: skip
    assert client.get("/api/v1/proactive-tasks").status_code == 401


@pytest.fixture
def compared(app):
    """40 handled rounds (30 satisfied; of the 10 negative, 6 recovered, tasks: 25 reached,
    10 no answer, 5 open) against 40 held out (14 satisfied; of 26 negative, 5 recovered)."""
    cadence = Cadence(name="Call first", proactive_task=TITLE, rules={"min_risk": 50})
    db.session.add(cadence)
    db.session.flush()
    handled, held = add_cases(40, "H"), add_cases(40, "O")
    answered = {"invited": 1, "delivered": 1, "responded": 1, "csat_n": 1}
    add_facts(handled[:30], csat_positive=1, **answered)
    add_facts(handled[30:36], negative=1, recovered=1, **answered)
    add_facts(handled[36:], negative=1, **answered)
    add_facts(held[:14], csat_positive=1, **answered)
    add_facts(held[14:19], negative=1, recovered=1, **answered)
    add_facts(held[19:], negative=1, **answered)
    now = utcnow() - timedelta(days=1)
    outcomes = ["reached"] * 25 + ["no_answer"] * 10 + [None] * 5
    for case_id, outcome in zip(handled, outcomes, strict=True):
        db.session.add(
            ProactiveTask(
                case_id=case_id,
                round=1,
                cadence_id=cadence.id,
                risk_score=0.7,
                title=TITLE,
                due_at=now,
                created_at=now,
                outcome=outcome,
                completed_at=now if outcome else None,
            )
        )
    for case_id in held:
        db.session.add(ProactiveHoldout(case_id=case_id, round=1, cadence_id=cadence.id,
                                        risk_score=0.6, created_at=now))  # fmt: skip
    # A round closed before the period counts nowhere.
    [old] = add_cases(1, "Z")
    db.session.add(ProactiveHoldout(case_id=old, round=1, cadence_id=cadence.id,
                                    created_at=now - timedelta(days=60)))  # fmt: skip
    db.session.commit()
    return cadence


def test_the_dashboard_compares_handled_and_held_out_cases(as_manager, compared):
    response = as_manager.get("/dashboard/proactive?period=30d")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Call first" in page
    assert "75% (60-86%) of 40" in page  # handled CSAT 30/40 with its Wilson interval
    assert "35% (22-50%) of 40" in page  # held out 14/40
    assert "60% (31-83%) of 10" in page  # handled recovery 6/10
    assert "19% (9-38%) of 26" in page  # held out 5/26
    assert "handled cases has more satisfied customers (CSAT) (75% vs 35%), 95% confidence" in page
    assert "reached: 25" in page and "no answer: 10" in page and "open: 5" in page
    assert "Mean risk" in page and "70%" in page and "60%" in page
    empty = as_manager.get("/dashboard/proactive?from=2020-01-01&to=2020-01-31")
    assert "No proactive task was opened" in empty.get_data(as_text=True)


def test_the_dashboard_page_roles_and_filters(client, users, compared):
    assert client.get("/dashboard/proactive").status_code == 302  # signed out: sign in
    agent_user("agent@example.com", "Sam Rivera")
    assert sign_in(client, "agent@example.com").status_code == 303
    assert client.get("/dashboard/proactive").status_code == 403
    assert client.get("/admin/recoveries").status_code == 403
    client.post("/admin/sign-out", data={"csrf_token": csrf_token(client, "/admin/account")})
    assert sign_in(client, "lead@example.com").status_code == 303
    assert client.get("/dashboard/proactive").status_code == 200
    for name in ("period", "from", "to"):
        for value in (STRINGS["script"], STRINGS["nul"], STRINGS["big_number"], "2020-13-01"):
            response = client.get("/dashboard/proactive", query_string={name: value})
            assert response.status_code == 422, (name, value)
            assert "<script>" not in response.get_data(as_text=True)
    team = client.get("/dashboard/proactive", query_string={"team": STRINGS["script"]})
    assert team.status_code == 200 and "not split by team" in team.get_data(as_text=True)
