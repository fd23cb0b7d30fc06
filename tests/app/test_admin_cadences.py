"""The cadence pages: building a cadence with steps and rules, versions that leave planned
messages alone, validation that names the step, the preview, duplicate/archive/default, the
roles, and what the saved cadence does when cases close."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import outbox
from followup.extensions import db
from followup.models import AuditEntry, Cadence, CadenceStep, Case, Message, MessageTemplate
from followup.models.base import utcnow
from tests.support.cadences import cadence_form, current, ids, step
from tests.support.cases import close_tagged
from tests.support.console import csrf_token


def test_a_lead_builds_a_cadence_that_takes_matching_cases(as_lead, seeded):
    response = as_lead.post(
        "/admin/cadences/new", data=cadence_form(as_lead, "/admin/cadences/new")
    )
    assert response.status_code == 303
    cadence = current("Billing follow-up")
    assert cadence.version == 1 and cadence.rules == {"tags": ["billing", "refund"]}
    assert [(s.name, s.delay_seconds, s.channel, s.condition) for s in cadence.steps] == [
        ("thank-you", 0, "email", "always"),
        ("check-in", 7200, "preferred", "always"),
        ("reminder", 172800, "email", "no_answer"),
    ]
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "cadence"))
    assert (entry.actor, entry.action, entry.after["name"]) == (
        "lead@example.com", "create", "Billing follow-up"
    )  # fmt: skip

    page = as_lead.get(response.headers["Location"]).get_data(as_text=True)
    assert "case tag is billing or refund" in page and "Saved Billing follow-up, version 1" in page

    plan = close_tagged(as_lead, seeded["auth"], "ZD-1", tags=["Billing"])
    assert plan["case"]["cadence"] == "Billing follow-up"
    assert [m["channel"] for m in plan["messages"]] == ["email", "sms", "email"]
    other = close_tagged(as_lead, seeded["auth"], "ZD-2", tags=["shipping"])
    assert other["case"]["cadence"] == "Standard"


def test_editing_writes_a_version_and_leaves_planned_messages_alone(as_lead, seeded):
    as_lead.post("/admin/cadences/new", data=cadence_form(as_lead, "/admin/cadences/new"))
    v1 = current("Billing follow-up")
    close_tagged(as_lead, seeded["auth"], "ZD-1", tags=["billing"])
    planned_before = db.session.execute(
        sa.select(Message.step_id, Message.due_at).order_by(Message.id)
    ).all()

    path = f"/admin/cadences/{v1.id}/edit"
    page = as_lead.get(path).get_data(as_text=True)
    assert 'value="check-in"' in page  # the saved steps are in the form
    templates = ids(MessageTemplate, MessageTemplate.key, ["thank_you"])
    data = cadence_form(as_lead, path, steps=[step("only thanks", 5, "minutes", "email",
                                                  templates["thank_you"])])  # fmt: skip
    assert as_lead.post(path, data=data).status_code == 303

    db.session.expire_all()
    v2 = current("Billing follow-up")
    assert (v2.version, v2.lineage, len(v2.steps)) == (2, v1.lineage, 1)
    old = db.session.get(Cadence, v1.id)
    assert old.superseded_at is not None and len(old.steps) == 3
    # The case closed under version 1 keeps its plan and its cadence version.
    assert (
        db.session.execute(sa.select(Message.step_id, Message.due_at).order_by(Message.id)).all()
        == planned_before
    )
    assert db.session.scalar(sa.select(Case.cadence_id).where(Case.external_id == "ZD-1")) == v1.id
    plan = close_tagged(as_lead, seeded["auth"], "ZD-3", tags=["billing"])
    assert [m["channel"] for m in plan["messages"]] == ["email"]

    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "update"))
    assert len(entry.before["steps"]) == 3 and len(entry.after["steps"]) == 1
    # The old version's page says so and links to the current one.
    page = as_lead.get(f"/admin/cadences/{v1.id}").get_data(as_text=True)
    assert "This is an earlier version" in page and f"/admin/cadences/{v2.id}" in page


def test_saving_unchanged_writes_no_version(as_lead, seeded):
    cadence = current("Standard")
    path = f"/admin/cadences/{cadence.id}/edit"
    steps = [
        step(s.name, s.delay_seconds // 3600, "hours", s.channel, str(s.template_id),
             str(s.survey_id or ""), s.condition)
        for s in cadence.steps
    ]  # fmt: skip
    data = cadence_form(as_lead, path, name="Standard", steps=steps, position="0", tags="")
    response = as_lead.post(path, data=data)
    assert response.status_code == 303, response.text
    assert "Nothing changed" in as_lead.get(response.headers["Location"]).get_data(as_text=True)
    assert current("Standard").version == 1
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0


@pytest.mark.parametrize(
    "change, message",
    [
        ("no steps", "add at least one step"),
        ("sms without body", "can go by SMS but template 'Email only' has no SMS body"),
        ("reminder first", "reminds about 'Customer satisfaction' but no earlier step asks it"),
        ("reminder without survey", "needs the survey it reminds about"),
        ("negative without survey", "depends on a negative answer but no earlier step"),
        ("no template", "choose a template"),
    ],
)
def test_validation_names_the_step_and_stores_nothing(as_lead, seeded, change, message):
    db.session.add(MessageTemplate(key="email_only", name="Email only", email_subject="Hi",
                                   email_text="Thanks", sms_text=""))  # fmt: skip
    db.session.commit()
    t = ids(MessageTemplate, MessageTemplate.key, ["thank_you", "csat_checkin", "email_only"])
    from followup.models import Survey

    csat = ids(Survey, Survey.key, ["csat"])["csat"]
    steps = {
        "no steps": [step("", 0, "minutes", "email", "")],
        "sms without body": [step("text", 0, "minutes", "sms", t["email_only"])],
        "reminder first": [
            step("reminder", 1, "hours", "email", t["thank_you"], csat, "no_answer"),
            step("check-in", 2, "hours", "email", t["csat_checkin"], csat),
        ],
        "reminder without survey": [
            step("nudge", 1, "hours", "email", t["thank_you"], "", "no_answer")
        ],  # fmt: skip
        "negative without survey": [
            step("sorry", 1, "hours", "email", t["thank_you"], "", "negative")
        ],  # fmt: skip
        "no template": [step("thanks", 0, "minutes", "email", "")],
    }[change]
    before = db.session.scalar(sa.select(sa.func.count(Cadence.id)))
    response = as_lead.post("/admin/cadences/new", data=cadence_form(
        as_lead, "/admin/cadences/new", steps=steps))  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page.replace("&#39;", "'")
    assert db.session.scalar(sa.select(sa.func.count(Cadence.id))) == before


@pytest.mark.parametrize(
    "fields, field_message",
    [
        ({"name": "Standard"}, "another cadence has this name"),
        ({"name": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"name": ""}, "This field is required."),
        ({"sms_hours": "9 to 5"}, "sending hours must look like 08:00-21:00"),
        ({"survey_cap_days": "0"}, "Number must be between 1 and 365."),
        ({"tags": "<script>"}, "is not a tag"),
        ({"steps-0-delay": "-5"}, "Number must be between 0 and 525600."),
        ({"steps-0-channel": "fax"}, "Not a valid choice."),
    ],
)
def test_bad_fields_are_422_with_their_message(as_lead, seeded, fields, field_message):
    before = db.session.scalar(sa.select(sa.func.count(Cadence.id)))
    data = {**cadence_form(as_lead, "/admin/cadences/new"), **fields}
    response = as_lead.post("/admin/cadences/new", data=data)
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.session.scalar(sa.select(sa.func.count(Cadence.id))) == before


def test_script_in_a_name_is_stored_as_text_and_shown_escaped(as_lead, seeded):
    name = '<script>alert("x")</script>'
    data = cadence_form(as_lead, "/admin/cadences/new", name=name)
    response = as_lead.post("/admin/cadences/new", data=data)
    assert response.status_code == 303
    assert current(name) is not None
    for path in ("/admin/cadences", response.headers["Location"]):
        page = as_lead.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "&lt;script&gt;alert(" in page


def test_a_forged_or_missing_csrf_token_is_400_and_stores_nothing(as_lead, seeded):
    before = db.session.scalar(sa.select(sa.func.count(Cadence.id)))
    for token in ("forged", None):
        data = cadence_form(as_lead, "/admin/cadences/new")
        data["csrf_token"] = token
        if token is None:
            del data["csrf_token"]
        assert as_lead.post("/admin/cadences/new", data=data).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Cadence.id))) == before


def test_preview_shows_each_message_its_local_time_and_why_one_is_suppressed(as_lead, seeded):
    close_tagged(as_lead, seeded["auth"], "ZD-9", phone=None, timezone="America/Los_Angeles")
    data = cadence_form(as_lead, "/admin/cadences/new", preview_case="ZD-9",
                        show_preview="Preview")  # fmt: skip
    del data["save"]
    response = as_lead.post("/admin/cadences/new", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "If <strong>ZD-9</strong>" in page and "America/Los_Angeles" in page
    # The customer was surveyed by ZD-9's own close: the next round's survey steps are capped.
    assert page.count("frequency cap: surveyed on") == 2
    assert current("Billing follow-up") is None  # a preview saves nothing

    standard = current("Standard")
    page = as_lead.get(f"/admin/cadences/{standard.id}?case=sample").get_data(as_text=True)
    assert "Europe/London" in page and page.count('<span class="badge ok">yes</span>') == 2
    for hostile in ("ZD%00-9", "%07ZD-9", "%ED%A0%80", "x" * 5000):  # the sample, not a 500
        page = as_lead.get(f"/admin/cadences/{standard.id}?case={hostile}")
        assert page.status_code == 200 and "Europe/London" in page.get_data(as_text=True)


def test_duplicate_archive_and_default(as_lead, seeded):
    standard = current("Standard")
    token = csrf_token(as_lead, f"/admin/cadences/{standard.id}")
    refused = as_lead.post(f"/admin/cadences/{standard.id}/archive", data={"csrf_token": token})
    assert refused.status_code == 409 and "make another one the default first" in refused.text

    response = as_lead.post(f"/admin/cadences/{standard.id}/duplicate", data={"csrf_token": token})
    assert response.status_code == 303
    copy = current("Copy of Standard")
    assert not copy.is_default and len(copy.steps) == len(standard.steps)
    assert copy.lineage != standard.lineage

    as_lead.post(f"/admin/cadences/{copy.id}/default", data={"csrf_token": token})
    db.session.expire_all()
    assert current("Copy of Standard").is_default and not current("Standard").is_default
    as_lead.post(f"/admin/cadences/{standard.id}/archive", data={"csrf_token": token})
    db.session.expire_all()
    assert current("Standard").archived_at is not None
    plan = close_tagged(as_lead, seeded["auth"], "ZD-5")
    assert plan["case"]["cadence"] == "Copy of Standard"
    named = as_lead.post("/api/v1/cases/ZD-5/reopen", headers=seeded["auth"])
    assert named.status_code == 200
    refused = as_lead.post("/api/v1/cases/ZD-5/close", json={"cadence": "Standard"},
                           headers=seeded["auth"])  # fmt: skip
    assert refused.status_code == 422  # archived cadences take no cases
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["duplicate", "make_default", "archive"]


def test_a_manager_reads_cadences_but_cannot_change_them(as_manager, seeded):
    standard = current("Standard")
    assert as_manager.get("/admin/cadences").status_code == 200
    page = as_manager.get(f"/admin/cadences/{standard.id}").get_data(as_text=True)
    assert "Edit</a>" not in page and "Duplicate" not in page
    assert as_manager.get(f"/admin/cadences/{standard.id}/edit").status_code == 403
    assert as_manager.get("/admin/cadences/new").status_code == 403
    token = csrf_token(as_manager, f"/admin/cadences/{standard.id}")
    for action in ("edit", "duplicate", "archive", "default"):
        response = as_manager.post(f"/admin/cadences/{standard.id}/{action}",
                                   data={"csrf_token": token, "name": "Hijacked"})  # fmt: skip
        assert response.status_code == 403
    db.session.expire_all()
    assert current("Standard").version == 1 and current("Hijacked") is None


def test_unknown_cadence_is_404(as_lead, seeded):
    assert as_lead.get("/admin/cadences/999999").status_code == 404
    assert as_lead.get("/admin/cadences/999999/edit").status_code == 404


def deliver(at):
    tokens = []
    outbox.sweep(lambda channel, token: tokens.append(token), queued_batches=0, now=at)
    for token in tokens:
        outbox.dispatch(token)


@pytest.mark.parametrize("score, sent", [(1, "sorry"), (5, "glad")])
def test_steps_on_a_negative_or_positive_answer_go_only_after_one(as_lead, seeded, score, sent):
    from followup.answers import record_answer
    from followup.models import Survey, SurveyInvitation

    t = ids(MessageTemplate, MessageTemplate.key, ["thank_you", "csat_checkin"])
    csat = ids(Survey, Survey.key, ["csat"])["csat"]
    steps = [
        step("check-in", 0, "minutes", "email", t["csat_checkin"], csat),
        step("sorry", 1, "hours", "email", t["thank_you"], "", "negative"),
        step("glad", 1, "hours", "email", t["thank_you"], "", "positive"),
    ]
    data = cadence_form(as_lead, "/admin/cadences/new", steps=steps)
    assert as_lead.post("/admin/cadences/new", data=data).status_code == 303
    close_tagged(as_lead, seeded["auth"], "ZD-7", tags=["billing"], phone=None)
    deliver(utcnow())
    invitation = db.session.scalar(sa.select(SurveyInvitation))
    record_answer(invitation, score=score, comment="", reason_codes=[], answers={},
                    channel="web", now=utcnow())  # fmt: skip
    db.session.commit()
    deliver(utcnow() + timedelta(hours=2))
    outcome = dict(
        db.session.execute(
            sa.select(CadenceStep.name, Message.status).join(CadenceStep)
            .where(CadenceStep.name.in_(["sorry", "glad"]))
        ).all()
    )  # fmt: skip
    assert outcome[sent] == "sent"
    assert outcome[({"sorry", "glad"} - {sent}).pop()] == "cancelled"


def test_a_cadence_frequency_cap_replaces_the_deployment_one(as_lead, seeded):
    data = cadence_form(as_lead, "/admin/cadences/new", survey_cap_days="2")
    assert as_lead.post("/admin/cadences/new", data=data).status_code == 303
    close_tagged(as_lead, seeded["auth"], "ZD-1", tags=["billing"], email="same@example.com")
    deliver(utcnow() + timedelta(hours=3))
    # Five days on (three after the last planned reminder) the 2-day cap has passed: the next
    # billing case is surveyed again, where the deployment's 30 days would not allow it.
    later = utcnow() + timedelta(days=5)
    as_lead.post("/api/v1/cases", headers=seeded["auth"], json={
        "external_id": "ZD-2", "tags": ["billing"],
        "customer": {"name": "Ana Lima", "email": "same@example.com"}})  # fmt: skip
    from followup.cases import close_case

    case = db.session.scalar(sa.select(Case).where(Case.external_id == "ZD-2"))
    close_case(case, None, later)
    db.session.commit()
    statuses = db.session.scalars(
        sa.select(Message.status).where(Message.case_id == case.id).order_by(Message.id)
    ).all()
    assert statuses == ["scheduled", "scheduled", "scheduled"]


def test_delays_keep_their_unit_in_the_form(as_lead, seeded):
    from followup.setup import seed_demo

    seed_demo()
    db.session.commit()
    demo = current("Demo")
    page = as_lead.get(f"/admin/cadences/{demo.id}/edit").get_data(as_text=True)
    # The demo's check-in goes 10 seconds after the close: shown as 10 seconds, not 0 minutes.
    assert re.search(r'<input[^>]*id="steps-1-delay"[^>]*value="10">', page)
    assert re.search(r'id="steps-1-unit"[^>]*><option selected value="seconds">', page)
    show = as_lead.get(f"/admin/cadences/{demo.id}").get_data(as_text=True)
    assert "after 10 seconds" in show and "after 40 seconds" in show
