"""Personal data: a customer's erasure leaves none of their data in any table, API, page or
export, keeps their opt-outs and every figure; their export holds everything; retention
redacts exactly the cases closed too long ago, resumably, figures unchanged."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import digests, kudos, privacy, rollups
from followup.answers import record_answer
from followup.extensions import db
from followup.models import (
    AuditEntry,
    Case,
    Customer,
    Gesture,
    Message,
    OutboundCall,
    RoundFact,
    Survey,
)
from followup.models.base import utcnow
from followup.models.customers import suppressed
from followup.models.figures import FIGURE_ROLLUPS, REASON_ROLLUPS
from followup.suppressions import suppress
from surveys.invitations import invitations_for
from tests.support.agents import agent_user
from tests.support.answers import SURVEY_SECRET, post_signed, text_in
from tests.support.cases import close, later, sweep_and_dispatch
from tests.support.console import csrf_token, csrf_token_in
from tests.support.hostile import FORM, STRINGS, form_body
from workers import jobs

NAME, EMAIL, PHONE = "Zebedee Quarrington", "zebedee.q@privacy.example", "+14155550199"
SMS_COMMENT = "Xylophonic fiasco in Quimperle"
WEB_COMMENT = "Marmoset delivery was dreadful"
MAKE_RIGHT = "Refund my Pangolin order"
PRAISE = "Narwhal-grade help, Sam's a star"  # a kudo for Sam, quoted in the agents' emails
SECRETS = (NAME, "Zebedee", "Quarrington", EMAIL, PHONE, "4155550199", "Xylophonic",
           "Quimperle", "Marmoset", "Pangolin", "Narwhal")  # fmt: skip
CUSTOMER = {"external_id": "cust-zq", "name": NAME, "email": EMAIL, "phone": PHONE}


def case_body(case_id: str, **customer) -> dict:
    return {"external_id": case_id, "subject": f"Order for {NAME}",
            "agent": {"name": "Sam Rivera"}, "customer": {**CUSTOMER, **customer}}  # fmt: skip


def answer_by_web(case_external_id: str, comment: str, make_right: str, score: int = 1) -> None:
    """An answer on the page to an invitation on the case's first message."""
    case = db.session.scalar(sa.select(Case).where(Case.external_id == case_external_id))
    message = db.session.scalar(sa.select(Message).where(Message.case_id == case.id).limit(1))
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    invitation = invitations_for([(message, survey)], SURVEY_SECRET, utcnow(), 14)[message.id]
    db.session.flush()
    record_answer(invitation, score=score, comment=comment, reason_codes=["slow"],
                  answers={"make_right": make_right}, channel="web", now=utcnow())  # fmt: skip
    db.session.commit()


def figures() -> dict:
    """Every fact and rollup row, without ids, after a refresh and after a rebuild."""
    rollups.refresh(later(days=30), lag_seconds=0)
    db.session.expire_all()

    def rows(model) -> list:
        columns = [c for c in model.__table__.columns if c.name != "id"]
        return sorted(
            json.dumps([str(v) for v in row], sort_keys=True)
            for row in db.session.execute(sa.select(*columns))
        )

    refreshed = {m.__tablename__: rows(m) for m in (*FIGURE_ROLLUPS, *REASON_ROLLUPS)}
    facts = db.session.execute(
        sa.select(RoundFact.case_id, RoundFact.round, RoundFact.first_score, RoundFact.reasons,
                  RoundFact.counts)
    ).all()  # fmt: skip
    rollups.rebuild(later(days=30))
    db.session.expire_all()
    rebuilt = {m.__tablename__: rows(m) for m in (*FIGURE_ROLLUPS, *REASON_ROLLUPS)}
    assert rebuilt == refreshed
    return {"rollups": refreshed, "facts": sorted(map(str, facts))}


def database_text() -> str:
    """Every value of every table, as text."""
    db.session.expire_all()
    values = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            values.extend(json.dumps(v, default=str) for v in row)
    return "\n".join(values)


def assert_none_of_theirs(text: str, where: str) -> None:
    found = [secret for secret in SECRETS if secret.lower() in text.lower()]
    assert found == [], f"{where} still holds {found}"


@pytest.fixture
def their_cases(app, client, seeded, twilio):
    """The customer's three cases: a thank-you email and a check-in text sent (both greet them
    by name), an SMS answer with a comment (a recovery, a gesture, an alert), a web answer with
    words, a planned message; opted out of texts, WhatsApp and email; event webhooks and alert
    hooks planned."""
    app.config.update(EVENTS_WEBHOOK_URL="http://127.0.0.1:9/hook",
                      EVENTS_WEBHOOK_SECRET="whsec_" + "A" * 32,
                      ALERT_WEBHOOK_URL="http://127.0.0.1:9/alerts")  # fmt: skip
    auth = seeded["auth"]
    assert close(client, auth, case_body("ZQ-1")).status_code == 202
    sweep_and_dispatch(at=later(hours=25))  # the check-in by text
    text_in(client, "1", PHONE)
    text_in(client, SMS_COMMENT, PHONE)
    assert close(client, auth, case_body("ZQ-2")).status_code == 202
    answer_by_web("ZQ-2", WEB_COMMENT, MAKE_RIGHT)
    assert close(client, auth, case_body("ZQ-3", external_id="zq-other-id")).status_code == 202
    text_in(client, "STOP", PHONE)
    form = {"From": f"whatsapp:{PHONE}", "Body": "STOP", "MessageSid": "SMzq"}
    assert post_signed(client, "/webhooks/twilio/sms", form).status_code == 200
    suppress("email", EMAIL, "unsubscribe", "unsubscribe link (page)", utcnow())
    db.session.commit()
    # Someone else's case, untouched by the erasure.
    other = {"external_id": "OT-1", "customer": {"name": "Olga Other", "email": "olga@example.com"}}
    assert close(client, auth, other).status_code == 202
    return auth


def test_erasure_leaves_nothing_of_theirs_and_keeps_figures_and_opt_outs(
    app, client, their_cases, as_admin
):
    auth = their_cases
    assert_none_of_theirs("", "nothing")
    # Praise on ZQ-3 is a kudo for Sam, emailed at once to one agent and the next day to
    # another, and quoted in the next Monday's digest to the lead and the manager.
    agent_user("sam@example.com", "Sam Rivera", "instant")
    agent_user("sam.daily@example.com", "Sam Rivera", "daily")
    answer_by_web("ZQ-3", PRAISE, "", score=5)
    assert kudos.send_daily(later(days=1)) == 1
    monday = later(days=7 - utcnow().weekday()).replace(hour=12)
    rollups.refresh(monday, lag_seconds=0)  # the digest waits for the week's figures
    assert digests.send_due(monday) == 2
    db.session.commit()
    text = database_text()
    theirs = (NAME, EMAIL, PHONE, SMS_COMMENT, WEB_COMMENT, MAKE_RIGHT, PRAISE)
    assert all(secret.lower() in text.lower() for secret in theirs)
    emails = db.session.scalars(sa.select(OutboundCall.payload).where(
        OutboundCall.kind == "staff_email")).all()  # fmt: skip
    assert len(emails) == 4 and all("Narwhal" in e["text"] and "Narwhal" in e["html"]
                                    for e in emails)  # fmt: skip
    sent = db.session.execute(
        sa.select(Message.channel, Message.subject, Message.body).where(Message.status == "sent")
    ).all()
    assert {channel for channel, _, _ in sent} == {"email", "sms"}
    assert all(body.startswith("Hi Zebedee") for _, _, body in sent)
    assert {"event", "alert_hook"} <= set(db.session.scalars(sa.select(OutboundCall.kind)))
    assert db.session.scalar(sa.select(sa.func.count(Gesture.id))) == 2
    before = figures()

    erased = client.delete("/api/v1/customers/zq-other-id", headers=auth)
    assert erased.status_code == 200 and erased.json == {"erased": True, "cases": 3}

    assert_none_of_theirs(database_text(), "the database")
    assert figures() == before
    customer = db.session.scalar(sa.select(Customer).where(Customer.erased_at.is_not(None)))
    erased = (customer.name, customer.email, customer.phone, customer.external_id)
    assert erased == ("", None, None, None)
    pending = db.session.scalars(
        sa.select(Message.status).where(Message.customer_id == customer.id)
    )
    assert "scheduled" not in set(pending)
    calls = db.session.execute(sa.select(OutboundCall.key, OutboundCall.status)).all()
    assert "cancelled" in {status for _, status in calls}
    # Only the two digests are still to send (without their words), and the erasure's event.
    pending = [key for key, status in calls[:-1] if status == "pending"]
    assert len(pending) == 2 and all(key.startswith("staff_email:digest:") for key in pending)
    erasure_event = db.session.scalar(sa.select(OutboundCall).order_by(OutboundCall.id.desc()))
    assert erasure_event.key.startswith("customer.erased:")
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "erase"))
    assert audit.entity == "customer" and audit.actor == "API key 'tests'"
    other = db.session.scalar(sa.select(Customer).where(Customer.name == "Olga Other"))
    assert other.email == "olga@example.com"

    # Every API and page, and the exports.
    for path in ("/api/v1/cases/ZQ-1", "/api/v1/cases/ZQ-2", "/api/v1/recoveries?status=all",
                 "/api/v1/alerts"):  # fmt: skip
        reply = client.get(path, headers=auth)
        assert reply.status_code == 200
        assert_none_of_theirs(reply.get_data(as_text=True), path)
    for path in ("/dashboard/cases/ZQ-1", "/dashboard/cases/ZQ-2", "/dashboard/cases",
                 "/dashboard/export/cases.csv", "/dashboard/export/answers.csv",
                 "/admin/recoveries", f"/admin/customers/{customer.id}",
                 "/admin/audit-log"):  # fmt: skip
        reply = as_admin.get(path)
        assert reply.status_code == 200, path
        assert_none_of_theirs(reply.get_data(as_text=True), path)

    search = as_admin.get("/admin/customers", query_string={"q": EMAIL}).get_data(as_text=True)
    assert "No customer is known by that." in search
    # Gone: a second erasure or an export is a 404.
    for external_id in ("cust-zq", "zq-other-id"):
        assert client.delete(f"/api/v1/customers/{external_id}", headers=auth).status_code == 404
        export = client.get(f"/api/v1/customers/{external_id}/export", headers=auth)
        assert export.status_code == 404 and export.json["error"] == "not_found"

    # Their number and their mailbox stay opted out: a new case with them sends nothing.
    opt_outs = {("sms", PHONE), ("whatsapp", PHONE), ("email", EMAIL)}
    assert suppressed(opt_outs) == opt_outs
    again = close(client, auth, case_body("ZQ-4", external_id="cust-zq"))
    assert {m["status"] for m in again.json["messages"]} == {"suppressed"}


def test_the_export_holds_everything_and_is_audited(app, client, their_cases):
    reply = client.get("/api/v1/customers/cust-zq/export", headers=their_cases)
    assert reply.status_code == 200
    document = reply.json
    assert document["customer"]["email"] == EMAIL and document["customer"]["sms_opted_out"]
    assert document["identities"] == ["cust-zq", "zq-other-id"]
    assert {s["channel"] for s in document["suppressions"]} == {"email", "sms", "whatsapp"}
    assert [c["case"]["external_id"] for c in document["cases"]] == ["ZQ-1", "ZQ-2", "ZQ-3"]
    first, second, _ = document["cases"]
    assert SMS_COMMENT in [r["comment"] for r in first["responses"]]
    assert first["recoveries"][0]["feedback"]["comment"] == SMS_COMMENT
    assert second["responses"][0]["answers"] == {"make_right": MAKE_RIGHT}
    assert all(m["template"] for c in document["cases"] for m in c["messages"])
    said = {m["channel"]: (m["subject"], m["body"]) for m in first["messages"] if m["sent_at"]}
    assert said["email"][0] == f'Thanks for your patience with "Order for {NAME}"'
    assert said["email"][1].startswith("Hi Zebedee,") and "[unsubscribe link]" in said["email"][1]
    assert said["sms"][0] is None and said["sms"][1].endswith("tap [survey link]")
    assert db.session.scalar(sa.select(AuditEntry.action)) == "export"
    refused = client.get("/api/v1/customers/nobody/export", headers=their_cases)
    assert refused.status_code == 404


def test_an_intake_key_may_not_export_or_erase(client, seeded):
    from followup.api_keys import create_api_key
    from followup.models.users import ApiScope

    _, read_key = create_api_key("reader", ApiScope.READ)
    _, intake_key = create_api_key("intake", ApiScope.INTAKE)
    db.session.commit()
    reader, intake = ({"Authorization": f"Bearer {key}"} for key in (read_key, intake_key))
    assert client.get("/api/v1/customers/x/export", headers=intake).status_code == 403
    assert client.get("/api/v1/customers/x/export", headers=reader).status_code == 404
    assert client.delete("/api/v1/customers/x", headers=reader).status_code == 403
    assert client.delete("/api/v1/customers/%20", headers=seeded["auth"]).status_code == 404


def test_an_admin_erases_after_typing_the_id_and_exports_a_file(app, client, their_cases, as_admin):
    found = as_admin.get("/admin/customers", query_string={"q": PHONE})
    page = found.get_data(as_text=True)
    assert NAME in page
    customer = db.session.scalar(sa.select(Customer).where(Customer.email == EMAIL))
    path = f"/admin/customers/{customer.id}"
    shown = as_admin.get(path).get_data(as_text=True)
    assert "texts suppressed" in shown and "WhatsApp suppressed" in shown  # both opted out
    token = csrf_token_in(shown)
    export = as_admin.post(f"{path}/export", data={"csrf_token": token})
    assert export.status_code == 200
    assert export.headers["Content-Disposition"].startswith("attachment;")
    assert json.loads(export.data)["customer"]["name"] == NAME
    assert as_admin.post(f"{path}/erase", data={"confirm": "cust-zq"}).status_code == 400
    wrong = as_admin.post(f"{path}/erase", data={"csrf_token": token, "confirm": "nope"})
    assert wrong.status_code == 422 and "not this customer" in wrong.get_data(as_text=True)
    assert db.session.get(Customer, customer.id).erased_at is None
    done = as_admin.post(f"{path}/erase", data={"csrf_token": token, "confirm": "cust-zq"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).erased_at is not None
    assert (
        as_admin.post(f"{path}/erase", data={"csrf_token": token, "confirm": ""}).status_code == 404
    )


@pytest.mark.parametrize("role", ["lead", "manager"])
def test_only_admins_reach_the_customer_pages(request, their_cases, role):
    signed_in = request.getfixturevalue(f"as_{role}")
    customer = db.session.scalar(sa.select(Customer).where(Customer.email == EMAIL))
    path = f"/admin/customers/{customer.id}"
    token = csrf_token(signed_in, "/admin/audit-log")  # the sign-out form's
    assert signed_in.get("/admin/customers", query_string={"q": PHONE}).status_code == 403
    assert signed_in.get(path).status_code == 403
    for action in ("export", "erase"):
        form = {"csrf_token": token, "confirm": "cust-zq"}
        assert signed_in.post(f"{path}/{action}", data=form).status_code == 403
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).erased_at is None
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == []


@pytest.mark.parametrize("name", ["nul", "control", "lone_surrogate", "script", "long_10k"])
def test_hostile_searches_and_confirmations_change_nothing(their_cases, as_admin, name):
    found = as_admin.get("/admin/customers", query_string=form_body({"q": STRINGS[name]}).decode())
    assert found.status_code == 200
    assert "<script>alert" not in found.get_data(as_text=True)
    customer = db.session.scalar(sa.select(Customer).where(Customer.email == EMAIL))
    path = f"/admin/customers/{customer.id}"
    token = csrf_token_in(as_admin.get(path).get_data(as_text=True))
    body = form_body({"csrf_token": token, "confirm": STRINGS[name]})
    refused = as_admin.post(f"{path}/erase", data=body, content_type=FORM)
    assert refused.status_code == 422
    assert "<script>alert" not in refused.get_data(as_text=True)
    assert as_admin.get("/admin/customers/99999999999999999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).erased_at is None


def test_the_cli_erases_once(app, runner, their_cases):
    first = runner.invoke(args=["erase-customer", "cust-zq"])
    assert first.exit_code == 0 and "3 cases redacted" in first.output
    again = runner.invoke(args=["erase-customer", "cust-zq"])
    assert again.exit_code != 0 and "no customer" in again.output
    assert_none_of_theirs(database_text(), "the database")


def test_retention_redacts_exactly_the_old_cases_resumably_figures_unchanged(
    app, client, seeded, as_admin
):
    auth = seeded["auth"]
    people = {"OLD": ("Ottoline Oldcase", "ottoline@example.com"),
              "BOTH": ("Bartholomew Both", "bart@example.com")}  # fmt: skip
    for external_id, who in (("OLD-1", "OLD"), ("OLD-2", "OLD"), ("BOTH-1", "BOTH"),
                             ("BOTH-2", "BOTH")):  # fmt: skip
        name, email = people[who]
        body = {"external_id": external_id, "subject": f"Subject of {external_id}",
                "customer": {"external_id": who, "name": name, "email": email}}  # fmt: skip
        assert close(client, auth, body).status_code == 202
        answer_by_web(external_id, f"Comment on {external_id}", f"Wish {external_id}")
    sweep_and_dispatch()  # the thank-you emails, which quote the subject
    sent = db.session.scalars(sa.select(Message).where(Message.status == "sent")).all()
    assert len(sent) == 4 and all("Subject of" in m.subject + m.body for m in sent)
    old = ("OLD-1", "OLD-2", "BOTH-1")
    db.session.execute(
        sa.update(Case)
        .where(Case.external_id.in_(old))
        .values(closed_at=utcnow() - timedelta(days=40))
    )
    db.session.commit()
    before = figures()
    app.config["RETENTION_DAYS"] = 30

    # A run cut short after one batch keeps nothing half done; the next run goes on.
    assert privacy.redact_expired(utcnow(), 30, batch=1) == 1
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).where(Case.redacted_at.is_not(None))) == 0
    assert privacy.redact_expired(utcnow(), 30, batch=1) == 1
    db.session.commit()
    assert jobs.redact_expired() == 2
    assert jobs.redact_expired() == 0

    text = database_text()
    for external_id in old:
        assert f"Comment on {external_id}" not in text and f"Wish {external_id}" not in text
        assert f"Subject of {external_id}" not in text
    assert "Comment on BOTH-2" in text and "Subject of BOTH-2" in text
    assert "Ottoline" not in text and "ottoline@example.com" not in text
    both = db.session.scalar(sa.select(Customer).where(Customer.email == "bart@example.com"))
    assert both.name == "Bartholomew Both"
    redacted = db.session.scalars(sa.select(Case.external_id).where(Case.redacted_at.is_not(None)))
    assert sorted(redacted) == sorted(old)
    assert figures() == before
    health = as_admin.get("/admin/health").get_data(as_text=True)
    assert 'id="redacted">3<' in health and "30 days ago, daily; 0 waiting" in health
