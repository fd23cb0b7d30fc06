"""The users pages: admins only; adding users, roles, deactivating (sessions end at once),
reactivating and passwords; the last active admin is kept; every change audited without a
password; hostile input refused or shown escaped."""

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import AuditEntry, User
from tests.support.console import PASSWORD, csrf_token, sign_in
from tests.support.hostile import FORM, MARKUP, STRINGS, form_body

NEW_PASSWORD = "another long passphrase"


def user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def entries(action: str | None = None) -> list[AuditEntry]:
    query = sa.select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def add(client, **fields):
    form = {"email": "new@example.com", "name": "New Lead", "role": "lead",
            "password": NEW_PASSWORD, **fields}  # fmt: skip
    form.setdefault("csrf_token", csrf_token(client, "/admin/users/new"))
    return client.post("/admin/users/new", data=form)


def post(client, user_id: int, action: str, **fields):
    token = csrf_token(client, f"/admin/users/{user_id}")
    return client.post(f"/admin/users/{user_id}/{action}", data={"csrf_token": token, **fields})


@pytest.mark.parametrize("role", ["lead", "manager"])
def test_only_admins_reach_the_users_pages(client, users, role):
    assert sign_in(client, f"{role}@example.com").status_code == 303
    target = users["manager"].id
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{target}"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/admin/")  # the sign-out form's token
    for action in ("role", "deactivate", "reactivate", "password"):
        data = {"csrf_token": token, "role": "admin", "password": NEW_PASSWORD}
        assert client.post(f"/admin/users/{target}/{action}", data=data).status_code == 403
    assert client.post("/admin/users/new", data={"csrf_token": token}).status_code == 403
    assert user("manager@example.com").role == "manager" and entries() == []
    assert "/admin/users" not in client.get("/admin/").get_data(as_text=True)


def test_the_list_shows_each_user(as_admin, users):
    page = as_admin.get("/admin/users").get_data(as_text=True)
    for role in ("admin", "lead", "manager"):
        assert f"{role}@example.com" in page and f"Test {role.title()}" in page
    assert "never" in page  # the lead and the manager never signed in


def test_an_admin_adds_a_user_who_can_sign_in(as_admin, client):
    response = add(as_admin, email=" New@Example.com ", name="<script>alert(1)</script>")
    assert response.status_code == 303
    made = user("new@example.com")
    assert (made.role, made.name, made.active) == ("lead", "<script>alert(1)</script>", True)
    page = as_admin.get("/admin/users").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    (entry,) = entries("create")
    assert (entry.actor, entry.entity, entry.entity_id) == (
        "admin@example.com",
        "user",
        str(made.id),
    )
    assert entry.after == {"email": "new@example.com", "name": "<script>alert(1)</script>",
                           "role": "lead", "active": True, "agent": None,
                           "teams": []}  # fmt: skip
    assert "password" not in str(entry.after) and made.password_hash not in str(entry.after)
    as_admin.post("/admin/sign-out", data={"csrf_token": csrf_token(as_admin, "/admin/")})
    assert sign_in(client, "new@example.com", NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "not an email"}, "email", "email address"),
        ({"email": "lead@example.com"}, "email", "exists already"),
        ({"email": "x" * 321 + "@example.com"}, "email", "320"),
        ({"password": "short"}, "password", "Use 12 to 200 characters"),
        ({"password": "p" * 201}, "password", "Use 12 to 200 characters"),
        ({"password": ""}, "password", "Enter a password"),
        ({"role": "owner"}, "role", "Not a valid choice"),
        ({"name": "n" * 201}, "name", "200"),
    ],
)
def test_bad_new_users_are_refused_with_the_field_named(as_admin, fields, field, message):
    response = add(as_admin, **fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="error-summary"' in page and f'href="#{field}"' in page
    assert message in page
    assert user("new@example.com") is None and entries() == []


def test_a_forged_csrf_token_stores_nothing(as_admin, users):
    assert add(as_admin, csrf_token="forged").status_code == 400
    assert add(as_admin, csrf_token="").status_code == 400
    lead = users["lead"].id
    forged = as_admin.post(f"/admin/users/{lead}/deactivate", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert user("new@example.com") is None and user("lead@example.com").active
    assert entries() == []


def test_unknown_users_are_404(as_admin):
    for path in ("/admin/users/999", "/admin/users/99999999999999999999", "/admin/users/x"):
        assert as_admin.get(path).status_code == 404
    token = csrf_token(as_admin, "/admin/users")
    assert (
        as_admin.post("/admin/users/999/deactivate", data={"csrf_token": token}).status_code == 404
    )


def test_changing_a_role_is_audited(as_admin, users):
    lead = users["lead"]
    assert post(as_admin, lead.id, "role", role="manager").status_code == 303
    assert user("lead@example.com").role == "manager"
    (entry,) = entries("update")
    assert (entry.before, entry.after) == ({"role": "lead"}, {"role": "manager"})
    assert post(as_admin, lead.id, "role", role="root").status_code == 422
    assert user("lead@example.com").role == "manager" and len(entries()) == 1


def test_a_deactivated_users_session_ends_at_once(app, as_admin, users):
    lead = app.test_client()
    assert sign_in(lead, "lead@example.com").status_code == 303
    assert lead.get("/admin/").status_code == 200
    assert post(as_admin, users["lead"].id, "deactivate").status_code == 303
    assert not user("lead@example.com").active
    response = lead.get("/admin/")
    assert response.status_code == 302 and "/admin/sign-in" in response.location
    again = sign_in(lead, "lead@example.com")
    assert again.status_code == 422  # and cannot sign in again
    (entry,) = entries("deactivate")
    assert (entry.before, entry.after) == ({"active": True}, {"active": False})

    assert post(as_admin, users["lead"].id, "reactivate").status_code == 303
    assert user("lead@example.com").active and len(entries("activate")) == 1
    assert sign_in(lead, "lead@example.com").status_code == 303


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(as_admin, users):
    admin = users["admin"].id
    for action, fields in (("role", {"role": "lead"}), ("deactivate", {})):
        response = post(as_admin, admin, action, **fields)
        assert response.status_code == 409, action
        assert "the last active admin" in response.get_data(as_text=True)
    me = user("admin@example.com")
    assert (me.role, me.active) == ("admin", True) and entries() == []
    # With a second admin, the first may step down.
    assert post(as_admin, users["lead"].id, "role", role="admin").status_code == 303
    assert post(as_admin, admin, "role", role="lead").status_code == 303
    assert user("admin@example.com").role == "lead"


def test_a_deactivated_admin_does_not_count(as_admin, users):
    other = users["manager"].id
    assert post(as_admin, other, "role", role="admin").status_code == 303
    assert post(as_admin, other, "deactivate").status_code == 303
    assert post(as_admin, users["admin"].id, "deactivate").status_code == 409


def test_resetting_a_password_ends_their_sessions_and_is_audited_without_it(app, as_admin, users):
    lead = app.test_client()
    assert sign_in(lead, "lead@example.com").status_code == 303
    before = user("lead@example.com").password_hash
    assert post(as_admin, users["lead"].id, "password", password="short").status_code == 422
    assert user("lead@example.com").password_hash == before
    assert post(as_admin, users["lead"].id, "password", password=NEW_PASSWORD).status_code == 303
    assert lead.get("/admin/").status_code == 302
    assert sign_in(lead, "lead@example.com", PASSWORD).status_code == 422
    assert sign_in(lead, "lead@example.com", NEW_PASSWORD).status_code == 303
    (entry,) = entries("password_reset")
    assert entry.before is None and entry.after is None
    assert NEW_PASSWORD not in entry.summary


def test_an_admin_resetting_their_own_password_stays_signed_in(as_admin, users):
    assert post(as_admin, users["admin"].id, "password", password=NEW_PASSWORD).status_code == 303
    assert as_admin.get("/admin/users").status_code == 200


def test_a_leads_digest_teams_are_set_validated_and_audited(as_admin, users):
    lead = users["lead"]
    teams = "North\r\n  South \n\nNorth\n"
    assert post(as_admin, lead.id, "role", role="lead", teams=teams).status_code == 303
    assert user("lead@example.com").teams == ["North", "South"]
    page = as_admin.get(f"/admin/users/{lead.id}").get_data(as_text=True)
    assert "North, South" in page
    (entry,) = entries("update")
    assert (entry.before, entry.after) == ({"teams": []}, {"teams": ["North", "South"]})
    refused = {
        "\n".join(f"Team {n}" for n in range(51)): "List at most 50 teams",
        "x" * 201: "Keep each team name to 200 characters or fewer",
        "North\x00": "Remove the control characters from the team names",
        "North\tSouth": "Remove the control characters from the team names",
        "<script>alert(1)</script>\x1b": "Remove the control characters from the team names",
    }
    for value, message in refused.items():
        reply = post(as_admin, lead.id, "role", role="lead", teams=value)
        text = reply.get_data(as_text=True)
        assert reply.status_code == 422 and message in text, message
        assert "<script>alert" not in text
    manager = post(as_admin, users["manager"].id, "role", role="manager", teams="North")
    assert manager.status_code == 422 and "leave them empty for other roles" in manager.text
    assert add(as_admin, teams="Billing").status_code == 303
    assert user("new@example.com").teams == ["Billing"]
    assert user("lead@example.com").teams == ["North", "South"] and len(entries("update")) == 1


def test_hostile_teams_are_refused_or_kept_as_text(as_admin, users):
    lead = users["lead"]
    token = csrf_token(as_admin, f"/admin/users/{lead.id}")
    for name, value in STRINGS.items():
        body = form_body({"csrf_token": token, "role": "lead", "agent": "", "teams": value})
        reply = as_admin.post(f"/admin/users/{lead.id}/role", data=body, content_type=FORM)
        assert reply.status_code in (303, 422), (name, reply.status_code)
    page = as_admin.get(f"/admin/users/{lead.id}").get_data(as_text=True)
    assert not any(markup in page for markup in MARKUP)
