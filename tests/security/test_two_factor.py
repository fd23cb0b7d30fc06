"""Two-factor sign-in: enrolment on the user's own page (QR code, secret, a code to confirm,
recovery codes shown once), the code step after the password (wrong code 422, no code twice,
recovery codes once, limited, expiring), turning it off, an admin's reset, and the setting
that sends admins without it to enrolment first."""

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import AuditEntry, RecoveryCode, User
from tests.support.console import PASSWORD, csrf_token, sign_in
from tests.support.hostile import FORM, MARKUP, STRINGS, form_body

CODE_PAGE = "/admin/sign-in/code"


def _post(client, path: str, form_page: str = "/admin/account", **data):
    return client.post(path, data={"csrf_token": csrf_token(client, form_page), **data})


def _enrol(client) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on for the signed-in client: its secret and recovery codes."""
    assert _post(client, "/admin/account/two-factor/start").status_code == 303
    page = client.get("/admin/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    secret = secret.replace(" ", "")
    done = _post(client, "/admin/account/two-factor", "/admin/account/two-factor",
                 code=pyotp.TOTP(secret).now())  # fmt: skip
    assert done.status_code == 200
    return secret, re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))


def _next_code(secret: str) -> str:
    """The code of the next time step (the current one went on enrolling)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _code_step(client, code: str):
    return _post(client, CODE_PAGE, CODE_PAGE, code=code)


def _sign_out(client):
    _post(client, "/admin/sign-out", "/admin/account")


def _actions() -> list[str]:
    return db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()


def _user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_enrolment_shows_a_qr_code_and_the_secret_and_recovery_codes_once(as_lead):
    page = as_lead.get("/admin/account")
    assert page.status_code == 200 and "Turn on two-factor sign-in" in page.text
    assert _post(as_lead, "/admin/account/two-factor/start").status_code == 303
    enrol = as_lead.get("/admin/account/two-factor").get_data(as_text=True)
    assert "<svg" in enrol and 'id="totp-secret"' in enrol
    wrong = _post(as_lead, "/admin/account/two-factor", "/admin/account/two-factor", code="000000")
    assert wrong.status_code == 422 and "not right" in wrong.text
    assert not _user("lead@example.com").two_factor

    # Enrolment starts again with a new secret, then is confirmed.
    secret, codes = _enrol(as_lead)
    assert len(codes) == 10 and len(set(codes)) == 10
    lead = _user("lead@example.com")
    assert lead.two_factor and secret not in lead.totp_secret  # encrypted at rest
    hashes = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)
    assert _actions() == ["two_factor_on"]
    # Shown once: the enrolment page is gone, the account page counts them.
    assert as_lead.get("/admin/account/two-factor").status_code == 303
    account = as_lead.get("/admin/account").get_data(as_text=True)
    assert "Recovery codes left: 10" in account and codes[0] not in account


def test_forms_need_their_csrf_token(as_lead):
    assert as_lead.post("/admin/account/two-factor/start").status_code == 400
    assert not _user("lead@example.com").totp_secret


def test_the_password_alone_only_half_signs_in_and_a_right_code_finishes(app, as_lead):
    secret, _ = _enrol(as_lead)
    _sign_out(as_lead)
    client = app.test_client()
    response = sign_in(client, "lead@example.com")
    assert response.status_code == 303 and response.location == CODE_PAGE
    # Half signed in: no console page, no dashboard.
    for path in ("/admin/", "/admin/cadences", "/admin/account", "/dashboard/"):
        assert client.get(path).status_code == 302, path
    assert _code_step(client, "123456").status_code == 422
    assert _code_step(client, "not a code at all").status_code == 422
    signed = _code_step(client, _next_code(secret))
    assert signed.status_code == 303 and signed.location == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert _user("lead@example.com").last_sign_in_at is not None


def test_the_same_code_never_signs_in_twice(app, as_lead):
    secret, _ = _enrol(as_lead)
    code = _next_code(secret)
    first, second = app.test_client(), app.test_client()
    sign_in(first, "lead@example.com")
    sign_in(second, "lead@example.com")
    assert _code_step(first, code).status_code == 303
    assert _code_step(second, code).status_code == 422
    # Nor does the code that enrolled (an older time step).
    assert _code_step(second, pyotp.TOTP(secret).now()).status_code == 422


def test_a_recovery_code_signs_in_once(app, as_lead):
    _, codes = _enrol(as_lead)
    client = app.test_client()
    sign_in(client, "lead@example.com")
    assert _code_step(client, codes[0]).status_code == 303
    assert _actions() == ["two_factor_on", "use_recovery_code"]
    _sign_out(client)
    sign_in(client, "lead@example.com")
    assert _code_step(client, codes[0]).status_code == 422
    # Typed as people type them: capitals, spaces, no dashes.
    assert _code_step(client, codes[1].replace("-", " ").upper()).status_code == 303


def test_the_code_step_lasts_five_minutes(app, as_lead):
    secret, _ = _enrol(as_lead)
    client = app.test_client()
    sign_in(client, "lead@example.com")
    with client.session_transaction() as session:
        session["two_factor_pending"] = {**session["two_factor_pending"], "until": time.time() - 1}
    response = client.get(CODE_PAGE)
    assert response.status_code == 303 and response.location == "/admin/sign-in"
    assert client.get(CODE_PAGE).status_code == 303  # the state is gone
    assert client.get("/admin/").status_code == 302


def test_a_new_password_ends_a_half_sign_in(app, as_lead):
    from followup.users import set_password

    secret, _ = _enrol(as_lead)
    client = app.test_client()
    sign_in(client, "lead@example.com")
    set_password(_user("lead@example.com"), "another long password")
    db.session.commit()
    assert client.get(CODE_PAGE).status_code == 303


def test_wrong_codes_are_limited_per_user(app, as_lead):
    secret, _ = _enrol(as_lead)
    client = app.test_client()
    sign_in(client, "lead@example.com")
    for _ in range(10):
        assert _code_step(client, "000000").status_code == 422
    assert _code_step(client, _next_code(secret)).status_code == 429
    # From another address, the same user's code step is limited too: the code is the
    # second factor, guessed only by someone who has the password.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    sign_in(other, "lead@example.com")
    assert _code_step(other, _next_code(secret)).status_code == 429


def test_turning_it_off_needs_the_password_and_a_code(as_lead):
    secret, _ = _enrol(as_lead)
    code = _next_code(secret)
    wrong = _post(as_lead, "/admin/account/two-factor/off", password="not my password", code=code)
    assert wrong.status_code == 422 and "not your password" in wrong.text
    no_code = _post(as_lead, "/admin/account/two-factor/off", password=PASSWORD, code="000000")
    assert no_code.status_code == 422
    assert _user("lead@example.com").two_factor
    off = _post(as_lead, "/admin/account/two-factor/off", password=PASSWORD, code=code)
    assert off.status_code == 303
    lead = _user("lead@example.com")
    assert not lead.two_factor and lead.totp_secret is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert _actions() == ["two_factor_on", "two_factor_off"]


def test_new_recovery_codes_replace_the_old(app, as_lead):
    secret, old = _enrol(as_lead)
    response = _post(as_lead, "/admin/account/two-factor/recovery-codes", code=_next_code(secret))
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.get_data(as_text=True))
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    client = app.test_client()
    sign_in(client, "lead@example.com")
    assert _code_step(client, old[0]).status_code == 422
    assert _code_step(client, new[0]).status_code == 303


def test_an_admin_resets_a_users_two_factor_sign_in(app, as_lead, users):
    _enrol(as_lead)
    admin = app.test_client()
    sign_in(admin, "admin@example.com")
    lead_id = users["lead"].id
    page = f"/admin/users/{lead_id}"
    assert "Reset the two-factor sign-in" in admin.get(page).text
    assert _post(as_lead, f"{page}/two-factor/reset").status_code == 403
    assert _post(admin, f"{page}/two-factor/reset", page).status_code == 303
    assert not _user("lead@example.com").two_factor
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "two_factor_reset"))
    assert entry.actor == "admin@example.com" and entry.entity_id == str(lead_id)
    assert sign_in(app.test_client(), "lead@example.com").location == "/admin/"


def test_the_setting_sends_admins_to_enrolment_first(app, as_admin):
    app.config["REQUIRE_2FA_FOR_ADMINS"] = True
    for path in ("/admin/", "/admin/users", "/dashboard/"):
        response = as_admin.get(path)
        assert response.status_code == 303 and response.location == "/admin/account", path
    assert _post(as_admin, "/admin/cadences/new").status_code == 303
    account = as_admin.get("/admin/account")
    assert account.status_code == 200 and "must use two-factor sign-in" in account.text
    secret, _ = _enrol(as_admin)
    assert as_admin.get("/admin/users").status_code == 200


@pytest.mark.parametrize("role", ["lead", "manager"])
def test_the_setting_leaves_other_roles_alone(app, client, users, role):
    app.config["REQUIRE_2FA_FOR_ADMINS"] = True
    assert sign_in(client, f"{role}@example.com").status_code == 303
    assert client.get("/admin/").status_code == 200


def test_a_rotated_secret_key_still_reads_secrets_while_it_is_a_fallback(app, as_lead):
    secret, codes = _enrol(as_lead)
    app.config.update(SECRET_KEY="the new secret key", SECRET_KEY_FALLBACKS=["test-secret"])
    client = app.test_client()
    sign_in(client, "lead@example.com")
    assert _code_step(client, _next_code(secret)).status_code == 303
    # Re-encrypted under the new key at use: the old key may go.
    app.config["SECRET_KEY_FALLBACKS"] = []
    db.session.execute(sa.update(User).values(totp_last_step=None))
    db.session.commit()
    other = app.test_client()
    sign_in(other, "lead@example.com")
    assert _code_step(other, _next_code(secret)).status_code == 303

    # A key changed without its fallback: codes no longer work, recovery codes still do.
    app.config["SECRET_KEY"] = "yet another key"
    db.session.execute(sa.update(User).values(totp_last_step=None))
    db.session.commit()
    third = app.test_client()
    sign_in(third, "lead@example.com")
    assert _code_step(third, _next_code(secret)).status_code == 422
    assert _code_step(third, codes[0]).status_code == 303


# Nine strings: a tenth wrong code in 15 minutes is limited (429), as it should be.
HOSTILE_CODES = ("nul", "control", "lone_surrogate", "long_10k", "script", "crlf", "format",
                 "unicode_digits", "blank")  # fmt: skip


def _post_raw(client, path: str, form_page: str, code: str):
    body = form_body({"csrf_token": csrf_token(client, form_page), "code": code})
    return client.post(path, data=body, content_type=FORM)


def test_hostile_codes_are_refused_with_the_form_again(app, as_lead):
    """On the enrolment's confirmation and on the code step after the password: a 422 page,
    never a 500, markup never echoed, and nothing turned on or signed in."""
    assert _post(as_lead, "/admin/account/two-factor/start").status_code == 303
    for name in HOSTILE_CODES:
        page = "/admin/account/two-factor"
        refused = _post_raw(as_lead, page, page, STRINGS[name])
        assert refused.status_code == 422, name
        assert not any(markup in refused.text for markup in MARKUP), name
    assert not _user("lead@example.com").two_factor

    secret, _ = _enrol(as_lead)
    _sign_out(as_lead)
    client = app.test_client()
    assert sign_in(client, "lead@example.com").location == CODE_PAGE
    for name in HOSTILE_CODES:
        refused = _post_raw(client, CODE_PAGE, CODE_PAGE, STRINGS[name])
        assert refused.status_code == 422, name
        assert not any(markup in refused.text for markup in MARKUP), name
    assert client.get("/admin/").status_code == 302  # still only half signed in
