"""The suppression list page: paged and searched; imported from CSV (addresses normalised,
bad rows named by line while the good ones go in, duplicates skipped, planned messages
suppressed at once, hostile files refused whole or row by row, never a 500); exported as CSV
(formula cells neutralised, an erased address as its hash only) and imported back; audited;
leads and admins only."""

import csv
import io

import pytest
import sqlalchemy as sa

from followup.admin import suppressions
from followup.extensions import db
from followup.models import AuditEntry, Message, Suppression
from followup.models.customers import address_hash
from tests.support.cases import CASE, close
from tests.support.console import csrf_token
from tests.support.hostile import STRINGS, form_body

PAGE = "/admin/suppressions"
NOTE = "imported from a CSV file"


def upload(client, data: bytes | str, name: str = "list.csv"):
    raw = data.encode() if isinstance(data, str) else data
    form = {"csrf_token": csrf_token(client, PAGE), "file": (io.BytesIO(raw), name)}
    return client.post(f"{PAGE}/import", data=form, content_type="multipart/form-data")


def listed() -> dict[tuple[str, str | None], str]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Suppression.channel, Suppression.address, Suppression.reason)
    )
    return {(channel, address): reason for channel, address, reason in rows}


def audits(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    query = sa.select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.entity == "suppression"
    )
    return list(db.session.scalars(query))


def test_an_import_takes_the_good_rows_and_names_the_bad_ones_by_line(as_lead, seeded):
    db.session.add(Suppression(channel="email", address="old@example.com", reason="bounce"))
    db.session.commit()
    text = (
        "Channel,Address,Reason\r\n"
        "email, Ana@Example.COM ,unsubscribe\r\n"  # line 2
        "sms,+1 (415) 555-0123,\r\n"
        "\r\n"
        "fax,123,\r\n"  # line 5
        "email,not an address,\r\n"
        "sms,555,stop\r\n"
        "email,,\r\n"
        "email,<b>x</b>@example.com,\r\n"  # line 9
        "email,bo@example.com,<script>\r\n"
        "email,old@example.com,bounce\r\n"  # already listed
        "email,ana@example.com,\r\n"  # twice in the file
        "WhatsApp,+1 415 555 0123,stop\r\n"
    )
    reply = upload(as_lead, text)

    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert "Import: 3 imported, 2 already listed, 6 bad rows." in page
    for line, words in [(5, "the channel must be email, sms or whatsapp"), (6, "not a valid email"),
                        (7, "not a valid phone number"), (8, "no address"),
                        (9, "not a valid email"), (10, "the reason must be")]:  # fmt: skip
        assert f"line {line}: {words}" in page, line
    assert "<b>x</b>" not in page and "<script>" not in page
    assert listed() == {("email", "old@example.com"): "bounce",
                        ("email", "ana@example.com"): "unsubscribe",
                        ("sms", "+14155550123"): "imported",
                        ("whatsapp", "+14155550123"): "stop"}  # fmt: skip
    [entry] = audits("import")
    assert entry.actor == "lead@example.com"
    assert entry.after == {"imported": 3, "already_listed": 2, "bad_rows": 6}
    assert "3 imported, 2 already listed, 6 bad rows" in entry.summary
    audit_page = as_lead.get("/admin/audit-log?entity=suppression").get_data(as_text=True)
    assert "3 imported, 2 already listed, 6 bad rows" in audit_page


def test_an_imported_address_has_its_planned_messages_suppressed_at_once(as_lead, seeded):
    assert close(as_lead, seeded["auth"], CASE).status_code == 202

    upload(as_lead, "channel,address\nsms,+14155550123\n")

    db.session.expire_all()
    statuses = db.session.execute(sa.select(Message.channel, Message.status, Message.error))
    sms = [(status, error) for channel, status, error in statuses if channel == "sms"]
    assert sms and all(status == "suppressed" for status, _ in sms), sms
    assert all(NOTE in error for _, error in sms)


def test_the_export_neutralises_formulas_shows_erased_addresses_as_hashes_and_reimports(
    as_lead, seeded
):
    erased = address_hash("sms", "+14155550199")
    db.session.add_all([
        Suppression(channel="email", address="=cmd@example.com", reason="stop",
                    detail='=HYPERLINK("http://x")'),
        Suppression(channel="sms", address=None, address_hash=erased, reason="stop",
                    detail="@SUM(1)"),
        Suppression(channel="sms", address="+14155550123", reason="stop", detail="-1+1"),
    ])  # fmt: skip
    db.session.commit()

    reply = as_lead.get(f"{PAGE}/export.csv")

    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert "attachment" in reply.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
    assert list(rows[0]) == ["channel", "address", "address_hash", "reason", "detail",
                             "created_at"]  # fmt: skip
    assert [(r["address"], r["detail"]) for r in rows] == [
        ("'=cmd@example.com", "'=HYPERLINK(\"http://x\")"), ("", "'@SUM(1)"),
        ("'+14155550123", "'-1+1")]  # fmt: skip
    assert rows[1]["address_hash"] == erased
    assert [entry.summary for entry in audits("export")] == ["the suppression list exported as CSV"]
    # The export imports back (neutralised cells read as they were): every address is
    # listed already, and the erased row has none.
    again = upload(as_lead, reply.data).get_data(as_text=True)
    assert "Import: 0 imported, 2 already listed, 1 bad rows." in again
    assert "line 3: no address" in again


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xff\xfe\x00b\x00a\x00d", "must be UTF-8"),
        (b"ana@example.com,email\n", "The first line must name the columns"),
        (b"", "The first line must name the columns"),
        (b"channel,address\nemail,\"" + b"a" * 200_000 + b"\"\n", "cannot be read"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_taken_is_refused_whole(as_lead, seeded, data, words):
    reply = upload(as_lead, data)

    assert reply.status_code == 422
    assert words in reply.get_data(as_text=True)
    assert listed() == {} and audits("import") == []


def test_a_file_over_the_size_cap_is_refused_whole(as_lead, seeded, monkeypatch):
    # A smaller cap: the test client spools a body as big as the real cap to a temporary
    # file it never closes.
    monkeypatch.setattr(suppressions, "MAX_IMPORT_BYTES", 1000)
    reply = upload(as_lead, b"channel,address\n" + b"email,a@example.com\n" * 60)

    assert reply.status_code == 422 and "split it" in reply.get_data(as_text=True)
    assert listed() == {}


def test_hostile_rows_are_bad_rows_not_errors(as_lead, seeded):
    text = ("channel,address,reason\nemail,a\x00b@example.com,\nsms,+1415555\x000123,\n"
            "email,=HYPERLINK(\"x\")@example.com,\nemail," + "a" * 5000 + "@example.com,\n"
            "email,c@example.com,x,extra,cells\nemail\n")  # fmt: skip
    reply = upload(as_lead, text)

    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert "Import: 1 imported, 0 already listed, 5 bad rows." in page
    assert listed() == {("email", "c@example.com"): "x"}


def test_the_list_is_paged_and_searched(as_lead, seeded):
    db.session.add_all(
        Suppression(channel="email", address=f"user{n:02}@example.com", reason="bounce")
        for n in range(60)
    )
    db.session.commit()

    first = as_lead.get(PAGE).get_data(as_text=True)
    assert "60 addresses; page 1 of 2." in first and first.count("<code>user") == 50
    second = as_lead.get(f"{PAGE}?page=2").get_data(as_text=True)
    assert second.count("<code>user") == 10
    found = as_lead.get(f"{PAGE}?q=USER0").get_data(as_text=True)
    assert "10 addresses." in found
    assert "No address matches." in as_lead.get(f"{PAGE}?q=%25").get_data(as_text=True)


def test_managers_cannot_see_export_or_import_the_list(as_manager, seeded):
    assert as_manager.get(PAGE).status_code == 403
    assert as_manager.get(f"{PAGE}/export.csv").status_code == 403
    token = csrf_token(as_manager, "/admin/audit-log")  # the sign-out form's
    form = {"csrf_token": token, "file": (io.BytesIO(b"x"), "a.csv")}
    reply = as_manager.post(f"{PAGE}/import", data=form, content_type="multipart/form-data")
    assert reply.status_code == 403
    assert "Suppressions" not in as_manager.get("/admin/audit-log").get_data(as_text=True)
    assert audits("export") == [] and listed() == {}


def test_admins_may_import(as_admin, seeded):
    assert "Suppressions</a>" in as_admin.get(PAGE).get_data(as_text=True)
    assert upload(as_admin, "channel,address\nemail,x@example.com\n").status_code == 200
    assert listed() == {("email", "x@example.com"): "imported"}


@pytest.mark.parametrize("name", ["nul", "control", "lone_surrogate", "script", "long_10k"])
def test_hostile_searches_and_pages_are_a_page(as_lead, seeded, name):
    db.session.add(Suppression(channel="email", address="a@example.com", reason="bounce"))
    db.session.commit()
    for field in ("q", "page"):
        reply = as_lead.get(PAGE, query_string=form_body({field: STRINGS[name]}).decode())
        assert reply.status_code == 200, field
        page = reply.get_data(as_text=True)
        assert "<script>alert" not in page
        assert ("a@example.com" in page) == (field == "page")
