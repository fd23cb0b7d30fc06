"""Signing in to the console and what each role may reach: redirects, 403s, rate limits per
account and per address, sessions that end, safe redirects, the create-user command."""

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import AuditEntry, User
from followup.users import set_password
from tests.support.console import PASSWORD, csrf_token, sign_in


def test_pages_need_a_sign_in_and_come_back_after_it(client, users):
    response = client.get("/admin/cadences?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/sign-in?next=/admin/cadences?x%3D1"
    assert client.post("/admin/cadences/new").status_code in (302, 400)
    signed = sign_in(client, "lead@example.com")
    assert signed.status_code == 303
    page = client.get("/admin/").get_data(as_text=True)
    assert "Signed in as Test Lead, lead" in page

    client.post("/admin/sign-out", data={"csrf_token": csrf_token(client, "/admin/")})
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "target, lands",
    [
        ("/admin/cadences", "/admin/cadences"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example/", "/admin/"),
        ("/\\evil.example", "/admin/"),
    ],
)
def test_after_sign_in_only_local_paths_are_followed(client, users, target, lands):
    page = client.get("/admin/sign-in").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/admin/sign-in",
        query_string={"next": target},
        data={"csrf_token": token, "email": "lead@example.com", "password": PASSWORD},
    )
    assert response.status_code == 303 and response.headers["Location"] == lands


@pytest.mark.parametrize(
    "email, password",
    [
        ("lead@example.com", "wrong password!!"),
        ("nobody@example.com", PASSWORD),
        ("LEAD@example.com ", "x" * 201),
        ("", ""),
    ],
)
def test_a_failed_sign_in_says_so_without_saying_which_part(client, users, email, password):
    response = sign_in(client, email, password)
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert client.get("/admin/").status_code == 302


def test_email_case_and_spaces_do_not_matter(client, users):
    assert sign_in(client, "  Lead@Example.COM ").status_code == 303


def test_failed_attempts_are_limited_per_account(client, users):
    for _ in range(10):
        assert sign_in(client, "lead@example.com", "wrong password!!").status_code == 422
    limited = sign_in(client, "lead@example.com", PASSWORD)
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    # Another account from the same address still signs in.
    assert sign_in(client, "manager@example.com").status_code == 303


def test_failed_attempts_are_limited_per_address(app, users):
    client = app.test_client()
    for n in range(30):
        sign_in(client, f"nobody{n}@example.com", "wrong password!!")
    assert sign_in(client, "lead@example.com").status_code == 429
    other = app.test_client()
    response = sign_in(other, "lead@example.com", PASSWORD)
    assert response.status_code == 429  # the test client is one address: 127.0.0.1


def test_successful_sign_ins_are_not_counted(client, users):
    for _ in range(12):
        assert sign_in(client, "lead@example.com").status_code == 303


def test_a_new_password_or_deactivation_ends_other_sessions(app, users):
    first, second = app.test_client(), app.test_client()
    sign_in(first, "lead@example.com")
    sign_in(second, "manager@example.com")
    lead = db.session.get(User, users["lead"].id)
    set_password(lead, "another long password")
    db.session.get(User, users["manager"].id).active = False
    db.session.commit()
    assert first.get("/admin/").status_code == 302
    assert second.get("/admin/").status_code == 302
    assert sign_in(second, "manager@example.com").status_code == 422


def test_passwords_are_stored_hashed(users):
    hashed = db.session.scalar(
        sa.select(User.password_hash).where(User.email == "lead@example.com")
    )
    assert PASSWORD not in hashed and hashed.startswith("scrypt:")


def test_session_cookies_are_kept_from_scripts_and_other_sites(client, users):
    response = sign_in(client, "lead@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # PUBLIC_BASE_URL is http:// in tests


def test_behind_https_cookies_are_secure(app_config, _schema, users):
    from followup import create_app

    secure = create_app({**app_config, "PUBLIC_BASE_URL": "https://support.example.com"})
    client = secure.test_client()
    with secure.app_context():
        response = sign_in(client, "lead@example.com")
        db.session.remove()
        db.engine.dispose()
    assert "Secure" in response.headers["Set-Cookie"]


def test_console_pages_are_not_cached_or_framed(as_lead):
    response = as_lead.get("/admin/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("role, status", [("admin", 200), ("lead", 403), ("manager", 403)])
def test_only_admins_reach_users(client, users, role, status):
    sign_in(client, f"{role}@example.com")
    assert client.get("/admin/users").status_code == status


def test_a_forbidden_page_is_a_403_page_not_a_hidden_link(as_manager):
    response = as_manager.get("/admin/cadences/new")
    assert response.status_code == 403
    assert "Not allowed" in response.text


def test_create_user_command(runner, app):
    result = runner.invoke(
        args=["create-user", "--email", "Jo@Example.com", "--role", "lead", "--name", "Jo",
              "--password", "a long enough password"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created lead jo@example.com." in result.output
    user = db.session.scalar(sa.select(User).where(User.email == "jo@example.com"))
    assert (user.role, user.name, user.active) == ("lead", "Jo", True)
    entry = db.session.scalar(sa.select(AuditEntry))
    assert (entry.actor, entry.entity, entry.action) == ("cli", "user", "create")
    assert "password" not in str(entry.after)

    again = runner.invoke(args=["create-user", "--email", "jo@example.com", "--password",
                                "a long enough password"])  # fmt: skip
    assert again.exit_code == 2 and "exists already" in again.output
    short = runner.invoke(args=["create-user", "--email", "x@example.com", "--password", "short"])
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    bad = runner.invoke(args=["create-user", "--email", "not-an-email", "--password", "x" * 12])
    assert bad.exit_code == 2 and "--email" in bad.output
