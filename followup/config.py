"""Settings from the environment, with embedded defaults (SQLite, embedded Redis)."""

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook

from followup.cadences import SendingHours
from followup.channels.sms_twilio import WHATSAPP_PREFIX
from followup.connectors.base import check_secret
from followup.targets import url_problem

HELPDESKS = ("none", "generic", "zendesk", "freshdesk")


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int | None = None) -> int:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, got {value}")
    return value


def _percent(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _int(environ, name, default, 0)
    if value > 100:
        raise SystemExit(f"{name} must be at most 100, got {value}")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    """An on/off setting: 1, true, yes or on; 0, false, no or off; unset or empty: default."""
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SystemExit(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")


def database_uri(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common postgres:// forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: Path) -> str:
    """The instance's secret key, generated once and kept in instance/secret_key."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _require_together(environ: Mapping[str, str], names: tuple[str, ...]) -> None:
    """A provider's settings are all set or all unset; half a provider fails at start, not at
    the first send."""
    missing = [name for name in names if not environ.get(name)]
    if missing and len(missing) < len(names):
        raise SystemExit(f"set {', '.join(names)} together; missing: {', '.join(missing)}")


def _hours(
    environ: Mapping[str, str], name: str, default: str, weekdays_only: bool = False
) -> SendingHours:
    hours = environ.get(name) or default
    zone = environ.get("FOLLOWUP_TIMEZONE") or "UTC"
    if hours.strip().lower() == "always":  # any hour of any day
        hours, weekdays_only = "00:00-00:00", False
    try:
        return SendingHours.parse(hours, zone, weekdays_only)
    except ValueError as error:
        raise SystemExit(f"{name} / FOLLOWUP_TIMEZONE: {error}") from None


def _helpdesk(environ: Mapping[str, str]) -> str:
    """The connector that reopens cases, with its settings all present."""
    helpdesk = (environ.get("HELPDESK") or "none").lower()
    needs = {
        "none": (),
        "generic": ("HELPDESK_WEBHOOK_URL", "HELPDESK_WEBHOOK_SECRET"),
        "zendesk": ("ZENDESK_BASE_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"),
        "freshdesk": ("FRESHDESK_BASE_URL", "FRESHDESK_API_KEY"),
    }
    if helpdesk not in needs:
        raise SystemExit(f"HELPDESK must be one of {', '.join(HELPDESKS)}, got {helpdesk!r}")
    missing = [name for name in needs[helpdesk] if not environ.get(name)]
    if missing:
        raise SystemExit(f"HELPDESK={helpdesk} needs {', '.join(missing)}")
    return helpdesk


def _webhook_public_key(environ: Mapping[str, str]) -> str | None:
    """SendGrid's Event Webhook verification key as its settings page shows it (base64 DER);
    a key that does not parse fails at start, not at the first event."""
    key = "".join((environ.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or "").split())
    if not key:
        return None
    try:
        parsed = EventWebhook().convert_public_key_to_ecdsa(key)
    except ValueError:
        parsed = None
    if not isinstance(parsed, ec.EllipticCurvePublicKey):
        raise SystemExit("SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 DER EC public key")
    return key


def _whatsapp_sender(environ: Mapping[str, str]) -> str | None:
    """The WhatsApp sender: a WhatsApp-enabled number in E.164 ("+14155550100"; a
    "whatsapp:" prefix is allowed and dropped) or a Messaging Service SID ("MG" + 32 hex)."""
    sender = (environ.get("TWILIO_WHATSAPP_FROM") or "").strip().removeprefix(WHATSAPP_PREFIX)
    if not sender:
        return None
    if not re.fullmatch(r"\+[1-9]\d{6,14}|MG[0-9a-fA-F]{32}", sender):
        raise SystemExit(
            "TWILIO_WHATSAPP_FROM must be a number in E.164 (+14155550100) or a Messaging "
            f"Service SID (MG...), got {sender!r}"
        )
    return sender


def _twilio_together(environ: Mapping[str, str]) -> None:
    """Twilio's account and token go together, with a sender: the SMS number, the WhatsApp
    sender, or both."""
    whatsapp_only = environ.get("TWILIO_WHATSAPP_FROM") and not environ.get("TWILIO_FROM_NUMBER")
    sender = "TWILIO_WHATSAPP_FROM" if whatsapp_only else "TWILIO_FROM_NUMBER"
    _require_together(environ, ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", sender))


def _provider_settings(environ: Mapping[str, str]) -> dict:
    """SendGrid's and Twilio's settings."""
    return {
        "SENDGRID_API_KEY": environ.get("SENDGRID_API_KEY") or None,
        "SENDGRID_FROM_EMAIL": environ.get("SENDGRID_FROM_EMAIL") or "support@example.com",
        "SENDGRID_API_HOST": environ.get("SENDGRID_API_HOST") or "https://api.sendgrid.com",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": _webhook_public_key(environ),
        "TWILIO_ACCOUNT_SID": environ.get("TWILIO_ACCOUNT_SID") or None,
        "TWILIO_AUTH_TOKEN": environ.get("TWILIO_AUTH_TOKEN") or None,
        "TWILIO_FROM_NUMBER": environ.get("TWILIO_FROM_NUMBER") or None,
        "TWILIO_WHATSAPP_FROM": _whatsapp_sender(environ),
        "TWILIO_API_BASE_URL": environ.get("TWILIO_API_BASE_URL") or "https://api.twilio.com",
        # The sender's throughput, texts a second shared by every worker; 0: not paced.
        "TWILIO_MESSAGES_PER_SECOND": _int(environ, "FOLLOWUP_TWILIO_MESSAGES_PER_SECOND", 0, 0),
    }


def _target(environ: Mapping[str, str], name: str) -> str | None:
    """A URL outbound calls go to, refused at start when it is no http(s) URL or is a
    loopback, private, link-local (cloud metadata) or other non-public address (a literal
    one, or localhost); a name is checked at every connection."""
    url = environ.get(name) or None
    allow_private = _flag(environ, "FOLLOWUP_ALLOW_PRIVATE_TARGETS")
    problem = url and url_problem(url, allow_private, names=False)
    if problem:
        hint = "" if allow_private else " (FOLLOWUP_ALLOW_PRIVATE_TARGETS=1 allows private ones)"
        raise SystemExit(f"{name}: {problem}{hint}")
    return url


def _freshdesk_field(environ: Mapping[str, str], name: str) -> str | None:
    """A Freshdesk custom field's API name (cf_ and lower-case letters, digits, _)."""
    field = (environ.get(name) or "").strip() or None
    if field and not re.fullmatch(r"cf_[a-z0-9_]{1,60}", field):
        raise SystemExit(
            f"{name} must be a Freshdesk custom field name like cf_csat, got {field!r}"
        )
    return field


def _helpdesk_settings(environ: Mapping[str, str]) -> dict:
    """The helpdesk connector's settings."""
    return {
        "HELPDESK": _helpdesk(environ),
        "HELPDESK_WEBHOOK_URL": _target(environ, "HELPDESK_WEBHOOK_URL"),
        "HELPDESK_WEBHOOK_SECRET": check_secret(
            "HELPDESK_WEBHOOK_SECRET", environ.get("HELPDESK_WEBHOOK_SECRET")
        ),
        "ZENDESK_BASE_URL": (_target(environ, "ZENDESK_BASE_URL") or "").rstrip("/") or None,
        "ZENDESK_EMAIL": environ.get("ZENDESK_EMAIL") or None,
        "ZENDESK_API_TOKEN": environ.get("ZENDESK_API_TOKEN") or None,
        "FRESHDESK_BASE_URL": (_target(environ, "FRESHDESK_BASE_URL") or "").rstrip("/") or None,
        "FRESHDESK_API_KEY": environ.get("FRESHDESK_API_KEY") or None,
        # Every answer and recovery outcome written on the ticket (on whenever HELPDESK is set).
        "HELPDESK_WRITE_BACK": _flag(environ, "FOLLOWUP_HELPDESK_WRITE_BACK", True),
        # The ticket field that gets the score, when the helpdesk has one: Zendesk's custom
        # field id, Freshdesk's custom field name (cf_...).
        "ZENDESK_SCORE_FIELD_ID": _int(environ, "FOLLOWUP_ZENDESK_SCORE_FIELD_ID", 0, 1) or None,
        "FRESHDESK_SCORE_FIELD": _freshdesk_field(environ, "FOLLOWUP_FRESHDESK_SCORE_FIELD"),
    }


def load_settings(instance_path: Path, environ: Mapping[str, str] = os.environ) -> dict:
    _twilio_together(environ)
    _require_together(environ, ("EVENTS_WEBHOOK_URL", "EVENTS_WEBHOOK_SECRET"))
    port = _int(environ, "PORT", 8000)
    redis_url = environ.get("REDIS_URL") or ""
    return {
        "SQLALCHEMY_DATABASE_URI": database_uri(
            environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'followup.db'}"
        ),
        "REDIS_URL": redis_url or f"unix://{instance_path / 'redis.sock'}",
        "EMBEDDED_REDIS": not redis_url,
        "SECRET_KEY": environ.get("SECRET_KEY") or secret_key(instance_path),
        # Keys being rotated out, comma-separated: sessions they signed and two-factor
        # secrets they encrypted still read (and are re-encrypted at use).
        "SECRET_KEY_FALLBACKS": [
            key.strip()
            for key in (environ.get("SECRET_KEY_FALLBACKS") or "").split(",")
            if key.strip()
        ],
        "PORT": port,
        "PUBLIC_BASE_URL": (environ.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}").rstrip(
            "/"
        ),
        **_provider_settings(environ),
        # The demo's channel: a provider without credentials writes to a file shown at
        # /dev/outbox (`followup run` sets it); unset, such a message fails with the reason.
        "DEV_OUTBOX": _flag(environ, "FOLLOWUP_DEV_OUTBOX"),
        "ORGANISATION_NAME": environ.get("FOLLOWUP_ORGANISATION_NAME") or "Acme Support",
        "SWEEP_INTERVAL": _int(environ, "FOLLOWUP_SWEEP_INTERVAL", 2),
        "FIGURES_INTERVAL": _int(environ, "FOLLOWUP_FIGURES_INTERVAL", 10),
        # Timeline events younger than this wait for the next refresh (late commits).
        "FIGURES_LAG": _int(environ, "FOLLOWUP_FIGURES_LAG", 30),
        "BATCH_SIZE": _int(environ, "FOLLOWUP_BATCH_SIZE", 200),
        "MAX_QUEUED_BATCHES": _int(environ, "FOLLOWUP_MAX_QUEUED_BATCHES", 20),
        "LEASE_SECONDS": _int(environ, "FOLLOWUP_LEASE_SECONDS", 60),
        "MAX_ATTEMPTS": _int(environ, "FOLLOWUP_MAX_ATTEMPTS", 5),
        "RETRY_BASE_SECONDS": _int(environ, "FOLLOWUP_RETRY_BASE_SECONDS", 30),
        "SEND_TIMEOUT": _int(environ, "FOLLOWUP_SEND_TIMEOUT", 10),
        # Provider calls in flight per worker process: 32 at about 150 ms a call is about 200
        # messages a second per worker.
        "SEND_CONCURRENCY": _int(environ, "FOLLOWUP_SEND_CONCURRENCY", 32, 1),
        # Emails of one dispatch that differ only in each customer's values go to SendGrid as
        # one request (followup.channels.email_batches); off: one request per email.
        "EMAIL_BATCHING": _flag(environ, "FOLLOWUP_EMAIL_BATCHING", True),
        "SURVEY_WINDOW_DAYS": _int(environ, "FOLLOWUP_SURVEY_WINDOW_DAYS", 14),
        "MAX_CONTENT_LENGTH": _int(environ, "FOLLOWUP_MAX_REQUEST_BYTES", 64 * 1024),
        "QUEUE_PREFIX": environ.get("FOLLOWUP_QUEUE_PREFIX") or "",
        # The organisation's time zone (checked by the sending hours below): its Monday, its day.
        "TIMEZONE": environ.get("FOLLOWUP_TIMEZONE") or "UTC",
        "SMS_HOURS": _hours(environ, "FOLLOWUP_SMS_HOURS", "08:00-21:00"),
        # When a person's apology may go out: working hours, Monday to Friday, local time.
        "WORKING_HOURS": _hours(environ, "FOLLOWUP_WORKING_HOURS", "09:00-17:00", True),
        "TRUSTED_PROXIES": _int(environ, "FOLLOWUP_TRUSTED_PROXIES", 0),
        # Admins must turn on two-factor sign-in before they can use anything else.
        "REQUIRE_2FA_FOR_ADMINS": _flag(environ, "FOLLOWUP_REQUIRE_2FA_FOR_ADMINS"),
        "SURVEY_CAP_DAYS": _int(environ, "FOLLOWUP_SURVEY_CAP_DAYS", 30),
        # The risk model trains on the answered rounds closed in the last RISK_TRAIN_DAYS days,
        # once there are at least RISK_MIN_ANSWERS of them (followup.risk; rules until then).
        "RISK_MIN_ANSWERS": _int(environ, "FOLLOWUP_RISK_MIN_ANSWERS", 200, 50),
        "RISK_TRAIN_DAYS": _int(environ, "FOLLOWUP_RISK_TRAIN_DAYS", 365, 1),
        # At most this many answered rounds, the newest, are trained on (memory and time).
        "RISK_MAX_ROUNDS": _int(environ, "FOLLOWUP_RISK_MAX_ROUNDS", 50_000, 1000),
        # Comment themes (followup.themes): the comments of the last THEMES_DAYS days are
        # clustered, the newest THEMES_MAX_CLUSTERED of them (memory grows with its square:
        # 5000 take about 200 MB for a few seconds), the rest joins the nearest theme; a
        # theme's comments are at least THEME_SIMILARITY percent alike on average (lower:
        # fewer, broader themes).
        "THEMES_DAYS": _int(environ, "FOLLOWUP_THEMES_DAYS", 180, 1),
        "THEMES_MAX_CLUSTERED": _int(environ, "FOLLOWUP_THEMES_MAX_CLUSTERED", 5000, 100),
        "THEME_SIMILARITY": _percent(environ, "FOLLOWUP_THEME_SIMILARITY", 30),
        **_helpdesk_settings(environ),
        "EVENTS_WEBHOOK_URL": _target(environ, "EVENTS_WEBHOOK_URL"),
        "EVENTS_WEBHOOK_SECRET": check_secret(
            "EVENTS_WEBHOOK_SECRET", environ.get("EVENTS_WEBHOOK_SECRET")
        ),
        # Who signs apologies: a lead's name; unset, the case's agent.
        "RECOVERY_SENDER": environ.get("FOLLOWUP_RECOVERY_SENDER") or None,
        # Days to wait for an answer to the recovery reminder before a person takes over.
        "RECOVERY_WAIT_DAYS": _int(environ, "FOLLOWUP_RECOVERY_WAIT_DAYS", 2),
        # This share (percent) of the cases a proactive cadence's rules match skip it (the
        # next matching cadence or the default takes them): the comparison group.
        "PROACTIVE_HOLDOUT_PERCENT": _percent(environ, "FOLLOWUP_PROACTIVE_HOLDOUT_PERCENT", 10),
        "ALERT_EMAIL": environ.get("FOLLOWUP_ALERT_EMAIL") or None,
        "ALERT_WEBHOOK_URL": _target(environ, "FOLLOWUP_ALERT_WEBHOOK_URL"),  # Slack-style
        # Outbound calls (webhooks, helpdesks) may reach loopback and private addresses.
        "ALLOW_PRIVATE_TARGETS": _flag(environ, "FOLLOWUP_ALLOW_PRIVATE_TARGETS"),
        "CALL_MAX_ATTEMPTS": _int(environ, "FOLLOWUP_CALL_MAX_ATTEMPTS", 8),
        # Cases closed longer ago than this many days lose the customer's words and
        # addresses (followup.privacy, a daily job); unset: kept.
        "RETENTION_DAYS": _int(environ, "FOLLOWUP_RETENTION_DAYS", 0, 1) or None,
        # Customers leave survey pages open for hours; the form stays valid for a day.
        "WTF_CSRF_TIME_LIMIT": 24 * 3600,
    }
