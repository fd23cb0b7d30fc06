"""API keys with scopes, revocable at once (finding 5): what an intake, read and full key may
call, the API's and the helpdesk webhooks' 403s, revoking from the command line and the
console (admins only), the audit entries, no secret in a listing, a log or the audit log;
and ids beyond the integer columns (tasks, alerts, Twilio status callbacks) are 404s."""

import logging
import re

import pytest
import sqlalchemy as sa

from followup.api_keys import create_api_key
from followup.extensions import db
from followup.models import ApiKey, AuditEntry
from followup.models.users import ApiScope
from followup.setup import ensure_standard_setup
from tests.support.answers import TWILIO_TOKEN, post_signed
from tests.support.cases import API_CASE, close
from tests.support.console import csrf_token, sign_in
from tests.support.hostile import FORM, MARKUP, STRINGS, form_body

CASE_ID = API_CASE["external_id"]
TICKET = {
    "ticket": {
        "id": "4711",
        "status": "Solved",
        "title": "Parcel never arrived",
        "requester": {"id": "9001", "name": "Ana Lima", "email": "ana@example.com"},
    }
}


@pytest.fixture
def keys(app):
    """The standard setup, the case API_CASE (open), and one key of each scope: the headers
    to send it, by scope."""
    ensure_standard_setup()
    made = {scope: create_api_key(f"{scope} key", scope)[1] for scope in ApiScope}
    db.session.commit()
    auth = {scope: {"Authorization": f"Bearer {key}"} for scope, key in made.items()}
    app.test_client().post("/api/v1/cases", json=API_CASE, headers=auth[ApiScope.FULL])
    return auth


ROOT_CAUSE = {"root_cause": "policy", "recorded_by": "Jo"}
# (method, path, body, the scope it needs): every route that takes a key; each is called
# with a key of each scope, its path filled in from ROWS.
CALLS = [
    ("post", "/api/v1/cases", API_CASE, ApiScope.INTAKE),
    ("post", "/api/v1/cases/{external_id}/close", None, ApiScope.INTAKE),
    ("post", "/api/v1/cases/{external_id}/reopen", None, ApiScope.INTAKE),
    ("post", "/webhooks/zendesk", TICKET, ApiScope.INTAKE),
    ("post", "/webhooks/freshdesk", {"freshdesk_webhook": {}}, ApiScope.INTAKE),
    ("get", "/api/v1/cases/{external_id}", None, ApiScope.READ),
    ("get", "/api/v1/recoveries", None, ApiScope.READ),
    ("get", "/api/v1/goodwill", None, ApiScope.READ),
    ("get", "/api/v1/alerts", None, ApiScope.READ),
    ("post", "/api/v1/tasks/{task_id}/complete", {"outcome": "Called"}, ApiScope.FULL),
    ("post", "/api/v1/goodwill/{key}/codes", None, ApiScope.FULL),
    ("post", "/api/v1/alerts/{alert_id}/acknowledge", None, ApiScope.FULL),
    ("get", "/api/v1/root-causes", None, ApiScope.READ),
    ("post", "/api/v1/recoveries/{recovery_id}/root-cause", ROOT_CAUSE, ApiScope.FULL),
    ("get", "/api/v1/customers/{external_id}/export", None, ApiScope.READ),
    ("delete", "/api/v1/customers/{external_id}", None, ApiScope.FULL),
    ("post", "/api/v1/incidents", {"name": "Outage"}, ApiScope.INCIDENTS),
    ("get", "/api/v1/incidents", None, ApiScope.INCIDENTS),
    ("get", "/api/v1/incidents/{incident_id}", None, ApiScope.INCIDENTS),
    ("post", "/api/v1/incidents/{incident_id}/end", None, ApiScope.INCIDENTS),
    ("get", "/api/v1/proactive-tasks", None, ApiScope.READ),
    ("post", "/api/v1/proactive-tasks/{task_id}/complete", {"outcome": "reached"}, ApiScope.FULL),
]
ROWS = {"external_id": CASE_ID, "task_id": "1", "alert_id": "1", "key": "discount-10",
        "incident_id": "1", "recovery_id": "1"}  # fmt: skip


@pytest.mark.parametrize("scope", list(ApiScope))
@pytest.mark.parametrize("method, path, body, needed", CALLS, ids=[f"{c[0]} {c[1]}" for c in CALLS])
def test_each_key_does_what_its_scope_covers_and_nothing_else(
    client, keys, scope, method, path, body, needed
):
    headers, path = keys[scope], path.format(**ROWS)
    if path.endswith("/codes"):
        headers = {**headers, "Content-Type": "text/csv"}
        response = client.post(path, data="CODE-1\n", headers=headers)
    else:
        response = getattr(client, method)(path, json=body, headers=headers)
    if scope in (needed, ApiScope.FULL):
        assert response.status_code not in (401, 403), response.json
    else:
        assert response.status_code == 403
        assert response.json == {
            "error": "forbidden",
            "message": f"this key's scope is {scope}; this needs {needed}",
        }


def test_an_intake_key_cannot_read_a_case_through_its_upsert(client, keys):
    close(client, keys[ApiScope.INTAKE], API_CASE)
    full = client.post("/api/v1/cases", json=API_CASE, headers=keys[ApiScope.FULL]).json
    assert full["messages"] and full["timeline"]
    intake = client.post("/api/v1/cases", json=API_CASE, headers=keys[ApiScope.INTAKE])
    assert intake.status_code == 200
    assert set(intake.json) == {"case", "customer"}
    assert client.get(f"/api/v1/cases/{CASE_ID}", headers=keys[ApiScope.INTAKE]).status_code == 403


def test_the_openapi_document_states_each_operation_s_scope_and_its_403(client):
    document = client.get("/api/v1/openapi.json").json
    assert "intake" in document["components"]["securitySchemes"]["bearer"]["description"]
    documented = {
        (method, path): op
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if "security" in op
    }
    api_calls = [call for call in CALLS if call[1].startswith("/api/")]
    assert set(documented) == {(method, path) for method, path, _, _ in api_calls}
    for method, path, _, needed in api_calls:
        operation = documented[method, path]
        assert operation["security"] == [{"bearer": [needed]}], path
        assert {"401", "403"} <= set(operation["responses"]), path


def test_last_used_is_kept_and_unknown_keys_are_401(client, keys):
    assert client.get("/api/v1/goodwill", headers=keys[ApiScope.READ]).status_code == 200
    used = db.session.scalar(sa.select(ApiKey).where(ApiKey.scope == ApiScope.READ))
    assert used.last_used_at is not None
    unknown = client.get("/api/v1/goodwill", headers={"Authorization": "Bearer fu_nope"})
    assert unknown.status_code == 401


# The command line


def cli_key(runner, scope: str, name: str = "zendesk") -> str:
    result = runner.invoke(args=["api-keys", "create", "--name", name, "--scope", scope])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_a_key_revoked_on_the_command_line_is_refused_at_once(client, runner, app):
    key = cli_key(runner, "read")
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/goodwill", headers=auth).status_code == 200
    result = runner.invoke(args=["api-keys", "revoke", key[:10]])
    assert result.exit_code == 0, result.output
    assert "Revoked API key" in result.output
    refused = client.get("/api/v1/goodwill", headers=auth)
    assert refused.status_code == 401 and refused.json["error"] == "unauthorized"
    again = runner.invoke(args=["api-keys", "revoke", key[:10]])
    assert again.exit_code == 0 and "revoked already" in again.output
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.entity, e.actor) for e in entries] == [
        ("create", "api_key", "cli"),
        ("revoke", "api_key", "cli"),
    ]
    assert entries[1].after["revoked_at"] and entries[1].before == {"revoked_at": None}
    assert key not in str([(e.summary, e.before, e.after) for e in entries])


def test_revoke_by_id_and_unknown_references(runner, client):
    key = cli_key(runner, "intake")
    api_key = db.session.scalar(sa.select(ApiKey))
    for reference in ("999", str(2**40), "fu_nothere", "x"):
        result = runner.invoke(args=["api-keys", "revoke", reference])
        assert result.exit_code == 2 and "no API key has the id" in result.output, reference
    assert runner.invoke(args=["api-keys", "revoke", str(api_key.id)]).exit_code == 0
    assert client.post("/webhooks/zendesk", json=TICKET,
                       headers={"Authorization": f"Bearer {key}"}).status_code == 401  # fmt: skip


def test_the_listing_shows_keys_without_their_secrets(runner):
    keys = [cli_key(runner, "intake", "zendesk"), cli_key(runner, "full", "reporting")]
    runner.invoke(args=["api-keys", "revoke", keys[1][:10]])
    listing = runner.invoke(args=["api-keys", "list"])
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split()[:3] == ["id", "prefix", "scope"]
    assert re.search(rf"{keys[0][:10]}… +intake .+ never +active +zendesk$", lines[1])
    assert re.search(rf"{keys[1][:10]}… +full .+ revoked \S+ \S+ +reporting$", lines[2])
    hashes = db.session.scalars(sa.select(ApiKey.key_hash)).all()
    for secret in [*(key[10:] for key in keys), *hashes]:
        assert secret not in listing.output


def test_create_needs_a_name_and_a_known_scope(runner):
    for args in (["--name", "x"], ["--name", "x", "--scope", "admin"],
                 ["--name", "  ", "--scope", "read"]):  # fmt: skip
        result = runner.invoke(args=["api-keys", "create", *args])
        assert result.exit_code == 2, args
    assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0


# The console


def test_an_admin_creates_a_key_seen_once_and_revokes_it(as_admin, seeded, caplog):
    caplog.set_level(logging.DEBUG)
    token = csrf_token(as_admin, "/admin/api-keys/new")
    form = {"csrf_token": token, "name": "Zendesk", "scope": "intake"}
    created = as_admin.post("/admin/api-keys/new", data=form)
    assert created.status_code == 201
    key = re.search(r'id="new-key" value="(fu_[^"]+)"', created.text).group(1)
    assert "shown only this once" in created.text
    assert created.headers["Cache-Control"] == "no-store"
    auth = {"Authorization": f"Bearer {key}"}
    assert as_admin.post("/webhooks/zendesk", json=TICKET, headers=auth).status_code == 200
    assert as_admin.get("/api/v1/cases/zendesk-4711", headers=auth).status_code == 403

    listing = as_admin.get("/admin/api-keys")
    assert listing.status_code == 200
    assert "Zendesk" in listing.text and key[:10] in listing.text and key not in listing.text
    api_key = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == "Zendesk"))
    confirm = as_admin.get(f"/admin/api-keys/{api_key.id}/revoke")
    assert confirm.status_code == 200 and "Revoke the API key Zendesk?" in confirm.text
    assert as_admin.post("/webhooks/zendesk", json=TICKET, headers=auth).status_code == 200

    token = csrf_token(as_admin, f"/admin/api-keys/{api_key.id}/revoke")
    revoked = as_admin.post(f"/admin/api-keys/{api_key.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert as_admin.post("/webhooks/zendesk", json=TICKET, headers=auth).status_code == 401
    assert "revoked" in as_admin.get("/admin/api-keys").text

    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.entity, e.actor) for e in entries] == [
        ("create", "api_key", "admin@example.com"),
        ("revoke", "api_key", "admin@example.com"),
    ]
    assert entries[0].after == {"name": "Zendesk", "prefix": key[:10], "scope": "intake",
                                "revoked_at": None}  # fmt: skip
    stored = str([(e.summary, e.before, e.after) for e in entries])
    assert key not in stored and api_key.key_hash not in stored
    assert key not in caplog.text


def test_a_form_without_a_name_is_refused(as_admin):
    token = csrf_token(as_admin, "/admin/api-keys/new")
    refused = as_admin.post("/admin/api-keys/new", data={"csrf_token": token, "scope": "full"})
    assert refused.status_code == 422 and "Name the key" in refused.text
    assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0


@pytest.mark.parametrize(
    "path", ["/admin/api-keys", "/admin/api-keys/new", "/admin/api-keys/1/revoke"]
)
def test_only_admins_reach_the_keys(client, users, path):
    ensure_standard_setup()
    create_api_key("someone's", ApiScope.FULL)
    db.session.commit()
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/admin/sign-in" in anonymous.headers["Location"]
    for role in ("lead", "manager"):
        assert sign_in(client, f"{role}@example.com").status_code == 303
        assert client.get(path).status_code == 403, role
        if path.endswith("/revoke"):
            token = csrf_token(client, "/admin/")
            assert client.post(path, data={"csrf_token": token}).status_code == 403
        client.post("/admin/sign-out", data={"csrf_token": csrf_token(client, "/admin/")})
    assert db.session.scalar(sa.select(ApiKey.revoked_at)) is None
    assert sign_in(client, "admin@example.com").status_code == 303
    assert client.get(path).status_code == 200
    assert "/admin/api-keys" in client.get("/admin/").text  # the navigation links the page


def test_keys_made_before_scopes_become_full_and_a_downgrade_revokes_narrow_ones(
    app_config, tmp_path
):
    from flask_migrate import downgrade, upgrade

    from followup import create_app

    url = f"sqlite:///{tmp_path / 'k.db'}"
    scratch = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    insert = ("INSERT INTO api_keys (name, prefix, key_hash, created_at{}) "
              "VALUES (:name, :name, :name, '2026-01-01 00:00:00'{})")  # fmt: skip
    with scratch.app_context():
        upgrade(revision="0013")
        with db.engine.begin() as conn:
            conn.execute(sa.text(insert.format("", "")), {"name": "old"})
        upgrade(revision="0014")
        with db.engine.begin() as conn:
            assert conn.execute(sa.text("SELECT scope FROM api_keys")).scalars().all() == ["full"]
            conn.execute(sa.text(insert.format(", scope", ", 'intake'")), {"name": "new"})
        downgrade(revision="0013")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, revoked_at IS NOT NULL FROM api_keys"))
            assert sorted(rows.all()) == [("new", 1), ("old", 0)]
        db.engine.dispose()


# Ids beyond the integer columns: no such row, never a server error


HUGE = [str(2**31), str(2**40), str(10**30), "²"]


@pytest.mark.parametrize("ident", HUGE)
def test_huge_task_and_alert_ids_are_404s(client, seeded, ident):
    for path in (f"/api/v1/tasks/{ident}/complete", f"/api/v1/alerts/{ident}/acknowledge"):
        response = client.post(path, json={"outcome": "Called"}, headers=seeded["auth"])
        assert response.status_code == 404, path
        assert response.json["error"] == "not_found"


@pytest.mark.parametrize("ident", HUGE[:3])
def test_a_twilio_status_callback_for_a_huge_message_id_is_a_404(app, client, ident):
    app.config["TWILIO_AUTH_TOKEN"] = TWILIO_TOKEN
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    response = post_signed(client, f"/webhooks/twilio/status?m={ident}", form)
    assert response.status_code == 404 and response.is_json


def test_hostile_key_names_are_kept_as_text_or_refused(as_admin):
    """Every corpus string as a key's name: created with it cleaned (control characters
    dropped) or refused with the form again, never a 500; the listing shows it escaped."""
    for name, text in STRINGS.items():
        body = form_body({"csrf_token": csrf_token(as_admin, "/admin/api-keys/new"),
                          "name": text, "scope": "read"})  # fmt: skip
        response = as_admin.post("/admin/api-keys/new", data=body, content_type=FORM)
        assert response.status_code in (201, 422), name
        assert not any(markup in response.text for markup in MARKUP), name
    names = db.session.scalars(sa.select(ApiKey.name)).all()
    assert "<script>alert(1)</script>" in names and "nulbyte" in names
    assert not any("\x00" in n or n != n.strip() for n in names)
    listing = as_admin.get("/admin/api-keys")
    assert listing.status_code == 200
    assert not any(markup in listing.text for markup in MARKUP)
