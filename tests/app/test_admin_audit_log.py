"""The audit log page: newest first, 50 a page, filters in the URL, before and after values
as readable JSON, everything shown escaped."""

import re
from datetime import timedelta

import pytest

from followup import audit
from followup.extensions import db
from followup.models.base import utcnow
from tests.support.console import csrf_token
from tests.support.hostile import STRINGS, form_body


@pytest.fixture
def logged(app):
    """120 entries a minute apart: cadences by lead@, then templates by admin@ (newest)."""
    start = utcnow() - timedelta(hours=3)
    for n in range(120):
        entity, actor = ("cadence", "lead@example.com") if n < 70 else ("template", "admin@x.io")
        entry = audit.record("update", entity, n, f"change {n}", {"n": n - 1}, {"n": n}, actor)
        entry.at = start + timedelta(minutes=n)
    db.session.commit()


def shown(page: str) -> list[int]:
    return [int(n) for n in re.findall(r": change (\d+)</td>", page)]


def test_newest_first_fifty_a_page(as_manager, logged):
    first = as_manager.get("/admin/audit-log")
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert shown(page) == list(range(119, 69, -1))
    assert "page 1 of 3" in page and "page=2" in page
    assert shown(as_manager.get("/admin/audit-log?page=3").get_data(as_text=True)) == list(
        range(19, -1, -1)
    )


@pytest.mark.parametrize("bad", ["0", "-1", "x", "4", "99999999999999999999", "1.5", "%00"])
def test_bad_page_numbers_show_the_first_page(as_manager, logged, bad):
    response = as_manager.get(f"/admin/audit-log?page={bad}")
    assert response.status_code == 200
    assert shown(response.get_data(as_text=True))[0] == 119


def test_filters_by_entity_and_actor(as_manager, logged):
    cadences = as_manager.get("/admin/audit-log?entity=cadence").get_data(as_text=True)
    assert shown(cadences) == list(range(69, 19, -1))
    assert "page 1 of 2" in cadences and "entity=cadence&amp;page=2" in cadences
    by_admin = as_manager.get("/admin/audit-log?actor=ADMIN@x.io").get_data(as_text=True)
    assert shown(by_admin) == list(range(119, 69, -1)) and "page 1 of" not in by_admin
    both = as_manager.get("/admin/audit-log?entity=cadence&actor=admin@x.io")
    assert "No changes match these filters" in both.get_data(as_text=True)
    oversize = as_manager.get("/admin/audit-log?entity=" + "e" * 5000 + "&actor=" + "a" * 5000)
    assert oversize.status_code == 200


@pytest.mark.parametrize("name", ["nul", "control", "lone_surrogate", "script"])
def test_hostile_filters_are_a_page(as_manager, logged, name):
    for field in ("entity", "actor"):
        query = form_body({field: STRINGS[name]}).decode()
        response = as_manager.get("/admin/audit-log", query_string=query)
        assert response.status_code == 200, field
        assert "<script>alert" not in response.get_data(as_text=True)


def test_values_are_readable_json_and_escaped(as_lead, app):
    hostile = "<script>alert(1)</script>"
    audit.record("update", "template", 7, f"Renamed to {hostile}", {"name": "Old"},
                 {"name": hostile, "body": "Hi {{ name }}"}, "lead@example.com")  # fmt: skip
    db.session.commit()
    page = as_lead.get(f"/admin/audit-log?entity={hostile}").get_data(as_text=True)
    assert "No changes match" in page and "<script>alert" not in page
    page = as_lead.get("/admin/audit-log").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "Renamed to &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;name&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in page
    assert "&#34;name&#34;: &#34;Old&#34;" in page  # before
    assert "template</a> 7" in page and "lead@example.com" in page


def test_changes_through_the_console_appear_with_who_made_them(as_admin, users):
    lead = users["lead"].id
    token = csrf_token(as_admin, f"/admin/users/{lead}")
    as_admin.post(f"/admin/users/{lead}/role", data={"csrf_token": token, "role": "manager"})
    page = as_admin.get("/admin/audit-log?entity=user").get_data(as_text=True)
    assert "Changed the role of lead@example.com to manager" in page
    assert "admin@example.com" in page and "&#34;role&#34;: &#34;lead&#34;" in page


def test_the_audit_log_needs_a_sign_in(client):
    assert client.get("/admin/audit-log").status_code == 302
