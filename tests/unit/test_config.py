"""Settings from the environment: embedded defaults, and half-configured providers refused."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from followup.config import load_settings


def test_defaults_are_the_embedded_ones(tmp_path):
    settings = load_settings(tmp_path, environ={})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'followup.db'}"
    assert settings["REDIS_URL"] == f"unix://{tmp_path / 'redis.sock'}"
    assert settings["EMBEDDED_REDIS"] is True
    assert settings["SECRET_KEY"] == load_settings(tmp_path, environ={})["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_postgres_urls_use_psycopg_3(tmp_path):
    settings = load_settings(tmp_path, environ={"DATABASE_URL": "postgres://u@db/followup"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/followup"


def test_half_a_twilio_account_is_refused_at_start(tmp_path):
    with pytest.raises(SystemExit, match="missing: TWILIO_FROM_NUMBER"):
        load_settings(tmp_path, environ={"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"})


def test_a_number_that_is_not_a_number_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="FOLLOWUP_BATCH_SIZE must be a whole number"):
        load_settings(tmp_path, environ={"FOLLOWUP_BATCH_SIZE": "lots"})


def test_the_sendgrid_webhook_key_is_checked_at_start(tmp_path):
    def shown(private_key) -> str:
        der = private_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    key = shown(ec.generate_private_key(ec.SECP256R1()))
    pasted = f"{key[:40]}\n  {key[40:]}\n"  # wrapped when copied from the settings page
    settings = load_settings(tmp_path, environ={"SENDGRID_WEBHOOK_PUBLIC_KEY": pasted})
    assert settings["SENDGRID_WEBHOOK_PUBLIC_KEY"] == key
    assert load_settings(tmp_path, environ={})["SENDGRID_WEBHOOK_PUBLIC_KEY"] is None
    rsa_key = shown(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    for wrong in ("not a key", rsa_key):
        with pytest.raises(SystemExit, match="SENDGRID_WEBHOOK_PUBLIC_KEY is not"):
            load_settings(tmp_path, environ={"SENDGRID_WEBHOOK_PUBLIC_KEY": wrong})


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("FOLLOWUP_FRESHDESK_SCORE_FIELD", "csat", "Freshdesk custom field name"),
        ("FOLLOWUP_FRESHDESK_SCORE_FIELD", "cf_CSAT; drop", "Freshdesk custom field name"),
        ("FOLLOWUP_ZENDESK_SCORE_FIELD_ID", "0", "FOLLOWUP_ZENDESK_SCORE_FIELD_ID"),
        ("FOLLOWUP_ZENDESK_SCORE_FIELD_ID", "36000x", "FOLLOWUP_ZENDESK_SCORE_FIELD_ID"),
        ("FOLLOWUP_RETENTION_DAYS", "-30", "FOLLOWUP_RETENTION_DAYS"),
        ("FOLLOWUP_RETENTION_DAYS", "a month", "FOLLOWUP_RETENTION_DAYS"),
    ],
)
def test_write_back_fields_and_retention_are_checked_at_start(tmp_path, name, value, words):
    with pytest.raises(SystemExit, match=words):
        load_settings(tmp_path, environ={name: value})


def test_write_back_and_retention_settings(tmp_path):
    unset = load_settings(tmp_path, environ={})
    assert unset["HELPDESK_WRITE_BACK"] is True and unset["RETENTION_DAYS"] is None
    assert unset["ZENDESK_SCORE_FIELD_ID"] is None and unset["FRESHDESK_SCORE_FIELD"] is None
    settings = load_settings(tmp_path, environ={
        "FOLLOWUP_HELPDESK_WRITE_BACK": "0", "FOLLOWUP_RETENTION_DAYS": "400",
        "FOLLOWUP_ZENDESK_SCORE_FIELD_ID": "360001", "FOLLOWUP_FRESHDESK_SCORE_FIELD": "cf_csat",
    })  # fmt: skip
    assert settings["HELPDESK_WRITE_BACK"] is False and settings["RETENTION_DAYS"] == 400
    assert settings["ZENDESK_SCORE_FIELD_ID"] == 360001
    assert settings["FRESHDESK_SCORE_FIELD"] == "cf_csat"
