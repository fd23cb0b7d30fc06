"""Finding 4 and server-side sign-out: a stranger's failed sign-ins do not block the real user
(failures count per account and address together, and per address as the trusted proxies
tell it); with Redis down each process still counts; a signed-out session's cookies, copied
before, are refused."""

import socket

import pytest
import sqlalchemy as sa

from followup.extensions import db, limiter
from followup.models import ConsoleSession
from tests.support.apps import other_app
from tests.support.console import PASSWORD, csrf_token, sign_in

STRANGER, OWNER = "203.0.113.66", "198.51.100.7"
PROXY = "10.0.0.2"
# 30 failures, the per-address limit, 10 for each account (known accounts: their test hash
# is cheap to check, an unknown one is checked against a hash at the product's cost).
THIRTY_GUESSES = [f"{role}@example.com" for role in ("admin", "lead", "manager")] * 10


def _from(client, address: str, forwarded: str | None = None):
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded is None:
        client.environ_base.pop("HTTP_X_FORWARDED_FOR", None)
    else:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return client


def test_a_strangers_failures_do_not_block_the_real_user_elsewhere(app, users):
    stranger = _from(app.test_client(), STRANGER)
    for _ in range(10):
        assert sign_in(stranger, "admin@example.com", "wrong password!!").status_code == 422
    # The stranger's address is done with this account, even with the right password ...
    assert sign_in(stranger, "admin@example.com", PASSWORD).status_code == 429
    # ... but the admin, from their own address, signs in.
    owner = _from(app.test_client(), OWNER)
    assert sign_in(owner, "admin@example.com").status_code == 303
    assert owner.get("/admin/").status_code == 200


def test_one_address_is_limited_across_accounts(app, users):
    stranger = _from(app.test_client(), STRANGER)
    for email in THIRTY_GUESSES:
        assert sign_in(stranger, email, "wrong password!!").status_code == 422
    assert sign_in(stranger, "someone@example.com").status_code == 429
    assert sign_in(_from(app.test_client(), OWNER), "lead@example.com").status_code == 303


def test_an_ipv6_client_counts_as_its_64(app, users):
    """One IPv6 client has a /64 to itself: new addresses in it are the same client."""
    for n, email in enumerate(THIRTY_GUESSES):
        client = _from(app.test_client(), f"2001:db8:1:2::{n + 1:x}")
        assert sign_in(client, email, "wrong password!!").status_code == 422
    same = _from(app.test_client(), "2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert sign_in(same, "lead@example.com").status_code == 429
    other = _from(app.test_client(), "2001:db8:1:3::1")
    assert sign_in(other, "lead@example.com").status_code == 303


def test_behind_a_trusted_proxy_its_forwarded_address_counts(app_config, users):
    with other_app(app_config, TRUSTED_PROXIES=1) as proxied:
        stranger = proxied.test_client()
        for n in range(10):
            # The proxy appends the address it saw; whatever the client put first is forged.
            _from(stranger, PROXY, f"192.0.2.{n}, {STRANGER}")
            assert sign_in(stranger, "admin@example.com", "wrong password!!").status_code == 422
        _from(stranger, PROXY, f"192.0.2.99, {STRANGER}")
        assert sign_in(stranger, "admin@example.com", PASSWORD).status_code == 429
        # Everyone comes through the proxy: the admin's own address still signs in.
        owner = _from(proxied.test_client(), PROXY, OWNER)
        assert sign_in(owner, "admin@example.com").status_code == 303

        # Eleven failures so far (the refused one counts); nineteen more on other accounts,
        # and the address is done.
        for n in range(19):
            _from(stranger, PROXY, f"192.0.2.{n}, {STRANGER}")
            email = "lead@example.com" if n % 2 else "manager@example.com"
            assert sign_in(stranger, email, "wrong password!!").status_code == 422
        _from(stranger, PROXY, f"192.0.2.200, {STRANGER}")
        assert sign_in(stranger, "lead@example.com").status_code == 429
        owner = _from(proxied.test_client(), PROXY, OWNER)
        assert sign_in(owner, "lead@example.com").status_code == 303


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, users):
    stranger = app.test_client()
    for n, email in enumerate(THIRTY_GUESSES):
        _from(stranger, STRANGER, f"192.0.2.{n}")
        assert sign_in(stranger, email, "wrong password!!").status_code == 422
    _from(stranger, STRANGER, OWNER)  # claiming the admin's address changes nothing
    assert sign_in(stranger, "lead@example.com").status_code == 429


@pytest.fixture
def redis_down(app, app_config):
    """An app whose limit storage is a closed port (Redis down); afterwards the module-wide
    limiter is bound to the run's Redis again and told it answers (flask-limiter keeps the
    storage's state on the limiter and has no public way to reset it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with other_app(app_config, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}") as down:
        yield down
    with other_app(app_config):
        limiter._storage_dead = False


def test_with_redis_down_sign_in_works_and_each_process_still_counts(redis_down, users):
    stranger = _from(redis_down.test_client(), STRANGER)
    for _ in range(10):
        assert sign_in(stranger, "admin@example.com", "wrong password!!").status_code == 422
    assert sign_in(stranger, "admin@example.com", PASSWORD).status_code == 429
    owner = _from(redis_down.test_client(), OWNER)
    assert sign_in(owner, "admin@example.com").status_code == 303


def test_a_session_copied_before_sign_out_is_refused_after_it(app, users):
    client = app.test_client()
    assert sign_in(client, "lead@example.com").status_code == 303
    copied = client.get_cookie("session").value
    client.post("/admin/sign-out", data={"csrf_token": csrf_token(client, "/admin/")})
    ended = db.session.scalars(sa.select(ConsoleSession.ended_at)).all()
    assert len(ended) == 1 and ended[0] is not None

    replay = app.test_client()
    replay.set_cookie("session", copied)
    response = replay.get("/admin/")
    assert response.status_code == 302 and "/admin/sign-in" in response.location


def test_a_remember_me_cookie_copied_before_sign_out_is_refused_after_it(app, users):
    client = app.test_client()
    assert sign_in(client, "lead@example.com", remember=True).status_code == 303
    remembered = client.get_cookie("remember_token").value
    # The remember-me cookie alone signs in, while the session lives.
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remembered)
    assert fresh.get("/admin/").status_code == 200

    client.post("/admin/sign-out", data={"csrf_token": csrf_token(client, "/admin/")})
    assert client.get_cookie("remember_token") is None
    replay = app.test_client()
    replay.set_cookie("remember_token", remembered)
    assert replay.get("/admin/").status_code == 302


def test_signing_out_ends_only_that_session(app, users):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "lead@example.com")
    sign_in(phone, "lead@example.com")
    laptop.post("/admin/sign-out", data={"csrf_token": csrf_token(laptop, "/admin/")})
    assert laptop.get("/admin/").status_code == 302
    assert phone.get("/admin/").status_code == 200


def test_a_cookie_from_before_server_side_sessions_is_refused(app, users):
    """An id without a session token (as Flask-Login kept it before) names no session."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{users['lead'].id}:1"
    assert client.get("/admin/").status_code == 302


def test_a_user_agent_with_control_characters_is_kept_without_them(app, users):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla\x00/5.0\x1b"
    assert sign_in(client, "lead@example.com").status_code == 303
    assert db.session.scalar(sa.select(ConsoleSession.user_agent)) == "Mozilla/5.0"


@pytest.mark.parametrize("proxies, warned", [(0, True), (1, False)])
def test_https_without_trusted_proxies_is_warned_about_at_start(
    app_config, caplog, proxies, warned
):
    settings = {"PUBLIC_BASE_URL": "https://support.example.com", "TRUSTED_PROXIES": proxies}
    with other_app(app_config, **settings):
        pass
    assert ("FOLLOWUP_TRUSTED_PROXIES is 0" in caplog.text) is warned
