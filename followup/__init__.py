"""The followup application: create_app() builds and configures the Flask app."""

import os
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from followup.extensions import babel, csrf, db, limiter, login_manager, migrate
from followup.paths import ROOT


def _sqlite_write_ahead_log(connection, _record) -> None:
    """Readers never block the writer, so web, worker and sweep can share the SQLite file."""
    connection.execute("PRAGMA journal_mode=WAL")


def _configure_sessions(app: Flask, given: dict) -> None:
    """Console sessions: cookies kept from scripts and other sites, HTTPS-only behind an
    https PUBLIC_BASE_URL; sign-in limits counted in Redis, and while Redis does not answer
    (within a second) in each process's memory, Redis tried again after 1, 2, 4 ... 32
    seconds. Settings given to create_app win."""
    secure = app.config["PUBLIC_BASE_URL"].startswith("https://")
    redis_url = app.config["REDIS_URL"]
    settings = {
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": 14 * 86400,
        "RATELIMIT_STORAGE_URI": "redis+" + redis_url
        if redis_url.startswith("unix://")
        else redis_url,
        "RATELIMIT_STORAGE_OPTIONS": {
            "key_prefix": f"{app.config['QUEUE_PREFIX']}followup-limits",
            "socket_connect_timeout": 1,
            "socket_timeout": 1,
        },
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADERS_ENABLED": True,
    }
    app.config.update({key: value for key, value in settings.items() if key not in given})
    if secure and not app.config["TRUSTED_PROXIES"]:
        app.logger.warning(
            "PUBLIC_BASE_URL is https and FOLLOWUP_TRUSTED_PROXIES is 0: if a proxy in front "
            "ends TLS, set it to the number of proxies, or every client counts as the proxy's "
            "address in the sign-in limits (and one stranger can hold everyone's sign-in)."
        )


def _configure_database(app: Flask) -> None:
    """Engine options per backend, bound to the app."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Web, worker and sweep processes share the file: wait for locks instead of failing.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A database that does not answer fails a request (and /readyz) in seconds, not minutes.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"connect_timeout": 5}})
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_write_ahead_log)


def _configure_dev_outbox(app: Flask) -> None:
    """The demo's dev outbox (FOLLOWUP_DEV_OUTBOX, set by `followup run`) stands in only for a
    provider without credentials; a service reached at another host than this one is warned
    at start that its /dev/outbox shows those messages to anyone."""
    from followup.channels.email_sendgrid import is_loopback

    config = app.config
    config["DEV_OUTBOX"] = bool(config.get("DEV_OUTBOX")) and not (
        config["SENDGRID_API_KEY"] and config["TWILIO_ACCOUNT_SID"]
    )
    if config["DEV_OUTBOX"] and not is_loopback(config["PUBLIC_BASE_URL"]):
        app.logger.warning(
            "FOLLOWUP_DEV_OUTBOX is set on a service reached at %s: every message for a "
            "channel without provider credentials is written to a file that anyone can read at "
            "%s/dev/outbox. Unset FOLLOWUP_DEV_OUTBOX outside the demo.",
            config["PUBLIC_BASE_URL"],
            config["PUBLIC_BASE_URL"],
        )


def _register_blueprints(app: Flask) -> None:
    """The web: console, dashboard, API, public survey pages, webhooks; the dev outbox page only
    where the dev channel stands in for a provider."""
    from followup.admin import bp as admin_bp
    from followup.admin import probes as probes_bp
    from followup.api import bp as api_bp
    from followup.dashboard import bp as dashboard_bp
    from followup.dev import bp as dev_bp
    from followup.web.brand import register_brand
    from followup.web.errors import register_error_pages
    from followup.web.security_headers import register_security_headers
    from followup.webhooks import bp as webhooks_bp
    from surveys.routes import bp as surveys_bp
    from surveys.unsubscribe import bp as unsubscribe_bp

    app.register_blueprint(admin_bp)
    app.register_blueprint(probes_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(unsubscribe_bp)
    app.register_blueprint(webhooks_bp)
    register_brand(app)
    csrf.exempt(webhooks_bp)
    if app.config["DEV_OUTBOX"]:
        app.register_blueprint(dev_bp)
    register_error_pages(app)
    register_security_headers(app)


def create_app(config: dict | None = None) -> Flask:
    """The app, its settings read and its blueprints registered. Its parts are imported here,
    not at the top: this package runs before any of its modules, so a worker importing
    followup.models must not load every blueprint (and importing stays free of side effects)."""
    from followup import models  # noqa: F401  (registers every table)
    from followup.config import load_settings
    from followup.languages import page_direction, page_language, select_locale
    from followup.models.base import render_item
    from followup.web.log_redaction import install_log_redaction

    app = Flask(
        "followup",
        instance_path=(config or {}).get("INSTANCE_PATH")
        or os.environ.get("FOLLOWUP_INSTANCE_PATH")
        or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "followup" / "static"),
    )
    install_log_redaction(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_settings(Path(app.instance_path)))
    app.config.update(config or {})
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Behind that many proxies, X-Forwarded-* say what URL the client used.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # as Flask's docs do
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies,
            x_prefix=proxies,
        )  # fmt: skip
    app.config.setdefault("DEV_OUTBOX_PATH", str(Path(app.instance_path) / "dev-outbox.jsonl"))
    _configure_dev_outbox(app)

    _configure_database(app)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), render_as_batch=True, render_item=render_item
    )
    csrf.init_app(app)
    _configure_sessions(app, config or {})
    login_manager.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        default_translation_directories=str(ROOT / "followup" / "translations"),
        locale_selector=select_locale,
    )
    app.jinja_env.globals["page_language"] = page_language
    app.jinja_env.globals["page_direction"] = page_direction

    _register_blueprints(app)

    from followup.cli import register_commands

    register_commands(app)
    return app
