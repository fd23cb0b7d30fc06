"""Commands (followup X, or flask --app wsgi X): run, worker, sweep, seed-demo, api-keys
(list, create, revoke), create-user, rebuild-figures, erase-customer."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from flask_migrate import upgrade

from followup import agents, audit, create_app, privacy, rollups
from followup.api_keys import (
    AUDIT_FIELDS,
    ApiKeyError,
    api_keys,
    create_api_key,
    find_api_key,
    revoke_api_key,
    usable_api_key,
)
from followup.extensions import db
from followup.models import User
from followup.models.base import utcnow
from followup.models.users import API_SCOPES, ROLES, ApiScope, Role
from followup.setup import DEMO_CASE, ensure_standard_setup, seed_demo
from followup.users import UserError, create_user, set_password
from workers.embedded_redis import embedded_redis
from workers.worker import run_sweep_scheduler, run_worker


def _redis_for(app: Flask):
    """The embedded redis-server when REDIS_URL is unset (this process owns it), else nothing."""
    if app.config["EMBEDDED_REDIS"]:
        return embedded_redis(Path(app.config["REDIS_URL"].removeprefix("unix://")))
    return nullcontext()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an RQ worker (with RQ's scheduler) on the sweep, dispatch and default queues."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    with _redis_for(app):
        run_worker(app, burst=burst)


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Enqueue the outbox sweep every FOLLOWUP_SWEEP_INTERVAL seconds (RQ cron scheduler)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    with _redis_for(app):
        run_sweep_scheduler(app)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the standard setup, a demo customer and the open demo case DEMO-1001."""
    seed_demo()
    db.session.commit()
    click.echo("Demo data ready: case DEMO-1001 (open), cadences Standard and Demo.")


@click.command("rebuild-figures")
@with_appcontext
def rebuild_figures_command() -> None:
    """Recompute the dashboard's facts and rollups from the raw rows (after a restore, or to
    repair them); the workers keep them up to date afterwards."""
    read = rollups.rebuild(utcnow())
    click.echo(f"Figures rebuilt from {read} timeline events.")


@click.command("erase-customer")
@click.argument("external_id")
@with_appcontext
def erase_customer_command(external_id: str) -> None:
    """Erase the customer known by EXTERNAL_ID (any of their ids): name, addresses, identities
    and words removed from every case, figures kept, suppressions kept as hashes."""
    customer = privacy.customer_by_external_id(external_id)
    if customer is None:
        raise click.ClickException("no customer with that external id (or erased already)")
    cases = privacy.erase(customer, utcnow(), actor="cli")
    db.session.commit()
    click.echo(f"Erased customer #{customer.id} ({cases} cases redacted).")


api_keys_command = AppGroup("api-keys", help="The API keys: list them, create one, revoke one.")


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


@api_keys_command.command("list")
def api_keys_list_command() -> None:
    """Every key with its id, prefix, scope, times and name (never a secret)."""
    click.echo(f"{'id':>4}  {'prefix':<11} {'scope':<6}  {'created (UTC)':<16}  "
               f"{'last used (UTC)':<16}  {'status':<24}  name")  # fmt: skip
    for key in api_keys():
        status = f"revoked {_when(key.revoked_at)}" if key.revoked_at else "active"
        click.echo(f"{key.id:>4}  {key.prefix + '…':<11} {key.scope:<6}  "
                   f"{_when(key.created_at):<16}  {_when(key.last_used_at):<16}  {status:<24}  "
                   f"{key.name}")  # fmt: skip


@api_keys_command.command("create")
@click.option("--name", required=True, help="Who will use the key, such as the helpdesk.")
@click.option("--scope", type=click.Choice(API_SCOPES), required=True,
              help="intake: create, close and reopen cases (and the helpdesk webhooks); "
                   "read: read everything; full: everything.")  # fmt: skip
def api_keys_create_command(name: str, scope: str) -> None:
    """Create an API key (and the standard setup if missing); the key is printed only once."""
    ensure_standard_setup()
    try:
        api_key, key = create_api_key(name, ApiScope(scope))
    except ApiKeyError as error:
        raise click.BadParameter(error.message, param_hint=f"--{error.field}") from None
    audit.record("create", "api_key", api_key.id,
                 f"Created the API key {api_key.name} ({api_key.prefix}…, {api_key.scope})",
                 after=audit.snapshot(api_key, AUDIT_FIELDS), actor="cli")  # fmt: skip
    db.session.commit()
    click.echo(f"Created API key {api_key.id} ({api_key.name}, {scope}); store it now, it is "
               f"not shown again:", err=True)  # fmt: skip
    click.echo(key)


@api_keys_command.command("revoke")
@click.argument("key")
def api_keys_revoke_command(key: str) -> None:
    """Revoke the key with this id or prefix (as `list` shows them): refused from now on."""
    try:
        api_key = find_api_key(key)
    except ApiKeyError as error:
        raise click.BadParameter(error.message, param_hint="KEY") from None
    before = audit.snapshot(api_key, AUDIT_FIELDS)
    if not revoke_api_key(api_key, utcnow()):
        click.echo(f"API key {api_key.id} ({api_key.name}) was revoked already.")
        return
    audit.record("revoke", "api_key", api_key.id,
                 f"Revoked the API key {api_key.name} ({api_key.prefix}…)",
                 before, audit.snapshot(api_key, AUDIT_FIELDS), actor="cli")  # fmt: skip
    db.session.commit()
    click.echo(f"Revoked API key {api_key.id} ({api_key.name}): it is refused from now on.")


@click.command("create-user")
@click.option("--email", required=True, help="The address they sign in with.")
@click.option("--role", type=click.Choice(list(ROLES)), default="admin", show_default=True)
@click.option("--name", default="", help="Their name, as the console shows it.")
@click.option(
    "--agent",
    default="",
    help="The agent name or email their cases arrive with (required for an agent).",
)
@click.password_option(help="At least 12 characters; asked for when not given.")
@with_appcontext
def create_user_command(email: str, role: str, name: str, agent: str, password: str) -> None:
    """Create a console user (the first admin, say, or an agent linked to their cases)."""
    try:
        link = agents.normalise_link(agent)
    except agents.LinkError as error:
        raise click.BadParameter(str(error), param_hint="--agent") from None
    if link is None and role == Role.AGENT:
        raise click.BadParameter("an agent needs the agent name or email their cases arrive "
                                 "with", param_hint="--agent")  # fmt: skip
    try:
        user = create_user(email, role, password, name)
    except UserError as error:
        raise click.BadParameter(error.message, param_hint=f"--{error.field}") from None
    user.agent = link
    audit.record("create", "user", user.id, f"{user.email} ({role})", actor="cli",
                 after={"email": user.email, "role": role, "name": user.name,
                        "agent": link})  # fmt: skip
    db.session.commit()
    click.echo(f"Created {role} {user.email}.")


def _demo_api_key(instance_path: Path) -> str:
    """The dev instance's demo key (scope full), kept in instance/demo-api-key so restarts
    print the same (a new one when that one was revoked)."""
    path = instance_path / "demo-api-key"
    if path.exists():
        key = path.read_text().strip()
        if usable_api_key(key):
            return key
    _, key = create_api_key("demo", ApiScope.FULL)
    db.session.commit()
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


DEMO_ADMIN = "admin@example.com"


def _demo_admin_password(instance_path: Path) -> str:
    """The dev instance's console admin (admin@example.com), its password generated once and
    kept in instance/demo-admin-password so restarts print the same."""
    path = instance_path / "demo-admin-password"
    password = path.read_text().strip() if path.exists() else secrets.token_urlsafe(12)
    user = db.session.scalar(sa.select(User).where(User.email == DEMO_ADMIN))
    if user is None:
        create_user(DEMO_ADMIN, "admin", password, "Demo Admin")
    elif not path.exists():
        set_password(user, password)
    db.session.commit()
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def _wait_for_port(port: int, children: list[subprocess.Popen], timeout: float = 30) -> None:
    """Return once the web server accepts connections, so the printed URL works at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(child.poll() is None for child in children):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)


def _welcome(
    url: str, api_key: str, admin_password: str, figures_interval: int, dev_outbox: bool
) -> str:
    """What `followup run` prints once the web answers: where to look and how to try it."""
    outbox = f"\n  Dev outbox: {url}/dev/outbox" if dev_outbox else ""
    return f"""
followup is running at {url}

  API key:    {api_key}{outbox}
  Console:    {url}/admin  (sign in as {DEMO_ADMIN}, password {admin_password})
  Dashboard:  {url}/dashboard/  (figures refresh every {figures_interval} s)

Close the demo case (a thank-you email now, the check-in 10 s later):

  curl -X POST {url}/api/v1/cases/{DEMO_CASE}/close \\
    -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' \\
    -d '{{"cadence": "Demo"}}'

Its timeline:  curl -H 'Authorization: Bearer {api_key}' {url}/api/v1/cases/{DEMO_CASE}
To try again:  POST {url}/api/v1/cases/{DEMO_CASE}/reopen, then close it again.
Stop with Ctrl-C.
"""


def _supervise(children: list[subprocess.Popen]) -> None:
    """Wait until a signal or a child's exit, then stop every child in order."""
    stop = {"now": False}

    def request_stop(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        while not stop["now"] and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@click.command("run")
@click.option("--port", type=int, default=None, help="Web port (default: PORT or 8000).")
@with_appcontext
def run_command(port: int | None) -> None:
    """The demo, all in one: migrate, seed the demo, start web + worker + sweep with the dev
    outbox, print how to try it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    port = port or app.config["PORT"]
    upgrade()
    seed_demo()
    db.session.commit()
    api_key = _demo_api_key(Path(app.instance_path))
    admin_password = _demo_admin_password(Path(app.instance_path))
    db.engine.dispose()
    env = dict(os.environ, PORT=str(port), NO_PROXY="127.0.0.1,localhost")
    # The demo texts and apologises at any hour, so it works whenever someone tries it.
    env.setdefault("FOLLOWUP_SMS_HOURS", "00:00-00:00")
    env.setdefault("FOLLOWUP_WORKING_HOURS", "always")
    env.setdefault("FOLLOWUP_FIGURES_LAG", "2")  # one host: the dashboard follows within seconds
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    # The demo shows what a channel without provider credentials would send at /dev/outbox
    # (a production start, gunicorn and `followup worker`, fails such messages instead).
    env["FOLLOWUP_DEV_OUTBOX"] = "1"
    dev_outbox = not (app.config["SENDGRID_API_KEY"] and app.config["TWILIO_ACCOUNT_SID"])
    me = [sys.executable, "-m", "followup.cli"]
    with _redis_for(app):
        control_socket = Path(app.instance_path) / "gunicorn.ctl"
        commands = [
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--access-logfile", "-", "--control-socket", str(control_socket), "wsgi:app"],
            [*me, "worker"],
            [*me, "sweep"],
        ]  # fmt: skip
        # Own sessions: Ctrl-C reaches only this process, which stops them in order.
        children = [subprocess.Popen(c, env=env, start_new_session=True) for c in commands]
        url = f"http://127.0.0.1:{port}"
        _wait_for_port(port, children)
        figures_interval = app.config["FIGURES_INTERVAL"]
        click.echo(_welcome(url, api_key, admin_password, figures_interval, dev_outbox), err=True)
        _supervise(children)


COMMANDS = (
    worker_command,
    sweep_command,
    seed_demo_command,
    api_keys_command,
    create_user_command,
    rebuild_figures_command,
    erase_customer_command,
    run_command,
)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    """The `followup` console script: the Flask CLI bound to wsgi.create_app."""
    FlaskGroup(create_app=create_app, add_default_commands=False)(prog_name="followup")


if __name__ == "__main__":
    main()
