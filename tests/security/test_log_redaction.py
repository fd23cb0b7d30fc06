"""Survey and unsubscribe tokens stay out of the logs: an error on their pages (message and
traceback), werkzeug's development server, and gunicorn's access log as production starts it
(`gunicorn wsgi:app`, no config file), referrers included, all say /s/[redacted]."""

import logging
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
import requests
from werkzeug.serving import make_server

import surveys.routes
import surveys.unsubscribe
from followup.paths import ROOT
from tests.support.links import link_tokens
from tests.support.waiting import wait_until


@pytest.fixture
def tokens(client, seeded):
    return link_tokens(client, seeded["auth"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "kind, prefix, module, lookup",
    [
        ("survey", "/s/", surveys.routes, "find_invitation"),
        ("unsubscribe", "/u/", surveys.unsubscribe, "find_by_token"),
    ],
)
def test_an_error_on_a_link_page_logs_no_token(
    client, tokens, caplog, monkeypatch, kind, prefix, module, lookup
):
    token = tokens[kind]

    def broken(*args):
        raise RuntimeError(f"the lookup fell over on {prefix}{token}")

    monkeypatch.setattr(module, lookup, broken)
    with caplog.at_level(logging.ERROR):
        page = client.get(f"{prefix}{token}")
    assert page.status_code == 500
    assert f"unhandled error on GET {prefix}[redacted]" in caplog.text
    assert f"RuntimeError: the lookup fell over on {prefix}[redacted]" in caplog.text  # traceback
    assert token not in caplog.text


def test_the_development_server_logs_no_token(app, tokens, caplog):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            answer = requests.get(
                f"http://127.0.0.1:{server.server_port}/u/{tokens['unsubscribe']}",
                proxies={"http": ""},
                timeout=30,
            )
    finally:
        server.shutdown()
        thread.join()
    assert answer.status_code == 200
    assert '"GET /u/[redacted] HTTP/1.1" 200' in caplog.text
    assert tokens["unsubscribe"] not in caplog.text


def test_gunicorns_access_log_shows_no_token(app, tokens, tmp_path):
    """As `followup run` starts it (--access-logfile -) on the production entry point."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ours = ("SENDGRID_", "TWILIO_", "FOLLOWUP_", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL")
    env = {name: value for name, value in os.environ.items() if not name.startswith(ours)}
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        SECRET_KEY=app.config["SECRET_KEY"],
        PUBLIC_BASE_URL=base,
        FOLLOWUP_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--access-logfile", "-", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    http = requests.Session()
    http.trust_env = False  # no proxy from the environment
    survey = f"/s/{tokens['survey']}"
    try:

        def answers() -> bool:
            assert web.poll() is None, log.read_text()
            try:
                return http.get(f"{base}/healthz", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(answers, 60, lambda: f"gunicorn; its log:\n{log.read_text()}")
        assert http.get(f"{base}{survey}?score=4", timeout=30).status_code == 200
        # The page's own files are fetched with it as the referrer.
        style = http.get(f"{base}/static/style.css", headers={"Referer": base + survey})
        assert style.status_code == 200
        assert http.get(f"{base}/u/{tokens['unsubscribe']}", timeout=30).status_code == 200
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)
    logged = log.read_text()
    assert '"GET /s/[redacted]?score=4 HTTP/1.1" 200' in logged
    assert '"GET /static/style.css HTTP/1.1" 200 ' in logged
    assert f'"{base}/s/[redacted]"' in logged  # the referrer
    assert '"GET /u/[redacted] HTTP/1.1" 200' in logged
    assert tokens["survey"] not in logged and tokens["unsubscribe"] not in logged
