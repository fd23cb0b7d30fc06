"""The survey exclusions page: the segments never surveyed with how many carry each tag,
adding (validated, lower-case, no duplicates) and removing one, audited; read-only for
managers; and an excluded case tag keeps a newly closed case from being surveyed."""

import re

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import AuditEntry, Case, Customer, SurveyExclusion
from tests.support.cases import API_CASE
from tests.support.console import csrf_token, sign_in

PAGE = "/admin/exclusions"


def excluded() -> list[tuple[str, str]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(SurveyExclusion.field, SurveyExclusion.value).order_by(SurveyExclusion.id)
    )
    return [tuple(row) for row in rows]


def add(client, field: str, value: str):
    return client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE), "field": field,
                                   "value": value})  # fmt: skip


def audits() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))


def row(page: str, value: str) -> str:
    return re.search(rf"<tr id=\"exclusion-\d+\">(?:(?!</tr>).)*<code>{value}</code>.*?</tr>",
                     page, re.S).group(0)  # fmt: skip


def test_the_list_counts_who_carries_each_tag_now(as_lead, seeded):
    db.session.add_all([
        Customer(name="A", tags=["VIP", "emea"]), Customer(name="B", tags=["vip"]),
        Customer(name="C", tags=[]), Customer(name="D", tags=["partner-x"]),
    ])  # fmt: skip
    db.session.add(SurveyExclusion(field="case_tag", value="legal"))
    customer = Customer(name="E")
    db.session.add_all([
        Case(external_id="L-1", customer=customer, tags=["Legal"]),
        Case(external_id="L-2", customer=customer, tags=["legal", "LEGAL"]),
        Case(external_id="L-3", customer=customer, tags=["other"]),
    ])  # fmt: skip
    db.session.commit()
    page = as_lead.get(PAGE).get_data(as_text=True)
    assert "2 customers" in row(page, "vip") and "Customer tag" in row(page, "vip")
    assert "0 customers" in row(page, "partner")
    assert "2 cases" in row(page, "legal") and "Case tag" in row(page, "legal")


def test_a_lead_adds_an_exclusion_stored_lower_case_and_audited(as_lead, seeded):
    reply = add(as_lead, "customer_tag", "  Gold Tier.2:EU  ")
    assert reply.status_code == 303
    assert ("customer_tag", "gold tier.2:eu") in excluded()
    [entry] = audits()
    assert (entry.action, entry.entity, entry.actor) == (
        "create", "survey_exclusion", "lead@example.com"
    )  # fmt: skip
    assert entry.after == {"field": "customer_tag", "value": "gold tier.2:eu"}
    page = as_lead.get(PAGE).get_data(as_text=True)
    assert "Customer tag &#39;gold tier.2:eu&#39; is never surveyed now." in page
    # The same tag as a case tag is another segment.
    assert add(as_lead, "case_tag", "GOLD TIER.2:EU").status_code == 303


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("customer_tag", "VIP", "&#39;vip&#39; is already excluded"),
        ("customer_tag", "", "Enter a tag"),
        ("customer_tag", "   ", "Enter a tag"),
        ("customer_tag", "x" * 101, "Field cannot be longer than 100 characters."),
        ("customer_tag", "<script>alert(1)</script>", "Use letters, digits, spaces"),
        ("customer_tag", "tab\there", "Use letters, digits, spaces"),
        ("customer_tag", "nul\x00", "Use letters, digits, spaces"),
        ("segment", "vip", "Not a valid choice."),
    ],
)
def test_bad_exclusions_are_refused_and_store_nothing(as_lead, seeded, field, value, message):
    before = excluded()
    reply = add(as_lead, field, value)
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert message in page and "There is a problem" in page
    assert "<script>alert(1)</script>" not in page
    assert excluded() == before and audits() == []


def test_removing_an_exclusion_is_audited(as_lead, seeded):
    vip = db.session.scalar(sa.select(SurveyExclusion).where(SurveyExclusion.value == "vip"))
    token = csrf_token(as_lead, PAGE)
    reply = as_lead.post(f"{PAGE}/{vip.id}/delete", data={"csrf_token": token})
    assert reply.status_code == 303
    assert ("customer_tag", "vip") not in excluded()
    [entry] = audits()
    assert entry.action == "delete" and entry.before == {"field": "customer_tag", "value": "vip"}
    for missing in (vip.id, 99999999999999999999):
        assert (
            as_lead.post(f"{PAGE}/{missing}/delete", data={"csrf_token": token}).status_code == 404
        )


def test_forged_csrf_and_managers_change_nothing(client, users, seeded):
    vip = db.session.scalar(sa.select(SurveyExclusion.id).where(SurveyExclusion.value == "vip"))
    sign_in(client, "lead@example.com")
    assert client.post(PAGE, data={"csrf_token": "forged", "field": "case_tag",
                                   "value": "x"}).status_code == 400  # fmt: skip
    assert client.post(f"{PAGE}/{vip}/delete", data={}).status_code == 400
    client.post("/admin/sign-out", data={"csrf_token": csrf_token(client, PAGE)})
    sign_in(client, "manager@example.com")
    page = client.get(PAGE).get_data(as_text=True)
    assert "<fieldset disabled>" in page and "Remove" not in page and ">Exclude<" not in page
    token = csrf_token(client, PAGE)
    assert add(client, "case_tag", "x").status_code == 403
    assert client.post(f"{PAGE}/{vip}/delete", data={"csrf_token": token}).status_code == 403
    assert excluded() == [("customer_tag", "vip"), ("customer_tag", "partner")] and audits() == []


def test_a_newly_closed_case_with_an_excluded_case_tag_is_not_surveyed(as_lead, seeded):
    assert add(as_lead, "case_tag", "Legal-Hold").status_code == 303
    auth = seeded["auth"]
    body = {**API_CASE, "external_id": "X-1", "tags": ["shipping", "LEGAL-hold"]}
    assert as_lead.post("/api/v1/cases", json=body, headers=auth).status_code == 201
    plan = as_lead.post("/api/v1/cases/X-1/close", headers=auth).json["messages"]
    assert [(m["step"], m["status"]) for m in plan] == [
        ("thank-you", "scheduled"), ("check-in", "suppressed"), ("reminder", "suppressed")
    ]  # fmt: skip
    assert {m["error"] for m in plan[1:]} == {"cases tagged 'legal-hold' are not surveyed"}
    # Another case without the tag is surveyed as usual.
    other = {**API_CASE, "external_id": "X-2", "customer": {**API_CASE["customer"],
             "external_id": "cust-2", "email": "other@example.com", "phone": None}}  # fmt: skip
    as_lead.post("/api/v1/cases", json=other, headers=auth)
    plan = as_lead.post("/api/v1/cases/X-2/close", headers=auth).json["messages"]
    assert [m["status"] for m in plan] == ["scheduled"] * 3
