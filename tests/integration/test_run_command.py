"""`followup run` as a new user meets it: nothing configured, an empty instance folder; the
printed curl closes the demo case, the dev outbox shows the messages, the survey link opens;
Ctrl-C stops everything, the embedded redis-server included."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

from tests.support.waiting import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        request, timeout=60
    ) as r:
        return r.status, r.read().decode()


def test_run_prints_a_working_curl_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(FOLLOWUP_INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(port))
    for name in ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "PUBLIC_BASE_URL", "SECRET_KEY"):
        env.pop(name, None)
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "followup.cli", "run"], env=env, stdout=out, stderr=out
        )
    try:

        def started() -> bool:
            assert run.poll() is None, log.read_text()
            return "Stop with Ctrl-C" in log.read_text()

        wait_until(started, 180, lambda: f"the start; the log:\n{log.read_text()}")
        printed = log.read_text()
        url = f"http://127.0.0.1:{port}"
        assert f"followup is running at {url}" in printed
        key = re.search(r"Bearer (fu_[\w-]+)", printed).group(1)
        assert f"curl -X POST {url}/api/v1/cases/DEMO-1001/close" in printed

        status, _ = fetch(  # the printed URL answers as soon as it is printed
            f"{url}/api/v1/cases/DEMO-1001/close",
            data=json.dumps({"cadence": "Demo"}).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        assert status == 202

        seen = {"page": "", "links": []}

        def survey_link_sent() -> bool:
            _, seen["page"] = fetch(f"{url}/dev/outbox")
            seen["links"] = re.findall(rf'href="({re.escape(url)}/s/[\w-]+)"', seen["page"])
            return "Thanks for your patience" in seen["page"] and bool(seen["links"])

        wait_until(survey_link_sent, 120, lambda: f"the messages; the outbox:\n{seen['page']}")
        status, survey = fetch(seen["links"][0])
        assert status == 200
        assert "Refund for a double charge" in survey

        # The printed console sign-in works.
        email, password = re.search(r"sign in as (\S+), password (\S+)\)", printed).groups()
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(jar)
        )
        page = browser.open(f"{url}/admin/sign-in", timeout=60).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password})
        home = browser.open(f"{url}/admin/sign-in", form.encode(), timeout=60)
        assert home.url == f"{url}/admin/" and "Signed in as Demo Admin" in home.read().decode()

        _, case = fetch(f"{url}/api/v1/cases/DEMO-1001", headers={"Authorization": f"Bearer {key}"})
        kinds = [event["kind"] for event in json.loads(case)["timeline"]]
        assert kinds.count("message.sent") >= 2
    finally:
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=120) == 0
    assert not (tmp_path / "instance" / "redis.sock").exists()
    assert "Traceback" not in log.read_text()
