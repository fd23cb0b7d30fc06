"""`make screenshots`: the README's three pictures, taken from the real app so they stay current.

Starts `followup run` on an empty instance folder (as a newcomer would), feeds it cases through
the API, answers the check-ins on the survey pages in Debian's chromium (Playwright), answers a
few recovery check-ins, signs in to the console and writes docs/images/survey-phone.png (the
survey page on a phone), recovery-queue.png (/admin/recoveries) and dashboard.png (/dashboard/).
`python -m tests.support.screenshots [--out docs/images]` (`make screenshots`).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.support.browser import sign_in_page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DEMO_CASE = "DEMO-1001"
TOP = {"x": 0, "y": 0, "width": 1280, "height": 1500}  # of a desktop page: keeps the PNG small

# (case number, subject, team, agent, priority, customer name, customer tags,
#  answer: (score, reasons, what would make it right, comment) or None,
#  recovery check-in answer: a score on the recovery survey, or None)
CASES = [
    ("ZD-4711", "Parcel never arrived", "Shipping", "Sam Rivera", "high", "Ana Lima", ["gold"],
     (1, ["not_solved"], "Call me, please", "Still no parcel after two weeks."), None),
    ("ZD-4712", "Charged twice for one order", "Billing", "Priya Shah", "normal", "Ben Okafor",
     [], (2, ["slow"], "A refund of the second charge", "Took three emails to get an answer."),
     5),
    ("ZD-4713", "Wrong size delivered", "Shipping", "Sam Rivera", "normal", "Chloé Martin", [],
     (2, ["unfriendly"], "", "The agent was curt with me."), 2),
    ("ZD-4714", "Cannot reset my password", "Accounts", "Lee Park", "urgent", "Dev Patel", [],
     (1, ["not_solved"], "", "I am still locked out."), None),
    ("ZD-4715", "Discount code not applied", "Billing", "Priya Shah", "low", "Eva Novak", [],
     (2, [], "", "It worked in the end, but slowly."), 4),
    ("ZD-4716", "Address change after dispatch", "Shipping", "Maria Costa", "normal",
     "Femi Adeyemi", [], (5, [], "", "Quick and kind, thank you!"), None),
    ("ZD-4717", "Invoice in the wrong currency", "Billing", "Priya Shah", "normal", "Gus Wong", [],
     (4, [], "", ""), None),
    ("ZD-4718", "Two-factor codes not arriving", "Accounts", "Lee Park", "high", "Hana Sato", [],
     (5, [], "", "Lee fixed it in minutes."), None),
    ("ZD-4719", "Return label missing", "Shipping", "Maria Costa", "normal", "Ivan Petrov", [],
     (4, [], "", ""), None),
    ("ZD-4720", "Update billing address", "Billing", "Sam Rivera", "low", "Jo Kim", [],
     (3, [], "", "Fine."), None),
    ("ZD-4721", "Delete my old account", "Accounts", "Lee Park", "normal", "Kai Müller", [],
     (5, [], "", ""), None),
    ("ZD-4722", "Parcel damaged in transit", "Shipping", "Sam Rivera", "high", "Lena Berg", [],
     (4, [], "", "Replacement came fast."), None),
    ("ZD-4723", "Order stuck in processing", "Shipping", "Maria Costa", "normal", "Omar Haddad",
     [], None, None),
    ("ZD-4724", "Gift card balance", "Billing", "Priya Shah", "low", "Pia Larsen", [], None, None),
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float = 120, every: float = 0.5):
    """Poll check() until it returns something truthy; fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            sys.exit(f"screenshots: gave up waiting for {what}")
        time.sleep(every)


class Api:
    """The JSON API with the demo's key (no proxy: everything is on 127.0.0.1)."""

    def __init__(self, url: str, key: str):
        self.url, self.key = f"{url}/api/v1", key
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        with self.opener.open(request, timeout=30) as response:
            return json.loads(response.read())


def start_app(instance: Path, log: Path) -> tuple[subprocess.Popen, str, dict]:
    """`followup run` on an empty instance; its URL and what it printed (key, sign-in)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    for name in ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "PUBLIC_BASE_URL", "SECRET_KEY"):
        env.pop(name, None)
    env.update(FOLLOWUP_INSTANCE_PATH=str(instance), PORT=str(port), FOLLOWUP_FIGURES_INTERVAL="3")
    with open(log, "w") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "followup.cli", "run"], env=env, stdout=out, stderr=out
        )
    printed = wait_for(
        "followup run to start",
        lambda: run.poll() is None and "Stop with Ctrl-C" in log.read_text() and log.read_text(),
        timeout=90,
    )
    email, password = re.search(r"sign in as (\S+), password (\S+)\)", printed).groups()
    key = re.search(r"Bearer (fu_[\w-]+)", printed).group(1)
    return run, f"http://127.0.0.1:{port}", {"key": key, "email": email, "password": password}


def survey_link(api: Api, outbox: Path, case: str, step: str) -> str:
    """The survey link in the case's message of that step, once the dev channel has sent it."""

    def sent_link() -> str | None:
        ids = {m["id"] for m in api.call(f"/cases/{case}")["messages"] if m["step"] == step}
        lines = outbox.read_text().splitlines() if outbox.exists() else []
        for sent in map(json.loads, lines):
            if sent["message_id"] in ids:
                found = re.search(r"https?://\S+?/s/[\w-]+", sent["text"])
                return found and found.group(0)
        return None

    return wait_for(f"{case}'s {step}", sent_link)


def answer(page: Page, link: str, score: int, reasons=(), make_right="", comment="") -> None:
    """Answer a survey on its page, as the customer does."""
    page.goto(link)
    page.check(f"input[name=score][value='{score}']")
    for reason in reasons:
        page.check(f"input[name=reasons][value='{reason}']")
    if make_right:
        page.fill("textarea[name=make_right]", make_right)
    if comment:
        page.fill("textarea[name=comment]", comment)
    page.click("button[type=submit]")
    page.wait_for_url("**/thanks")


def close_cases(api: Api) -> None:
    for number, subject, team, agent, priority, name, tags, *_ in CASES:
        email = name.split()[0].lower().replace("é", "e").replace("ü", "u") + "@example.com"
        api.call("/cases", {
            "external_id": number, "subject": subject, "team": team, "priority": priority,
            "agent": {"name": agent}, "source_channel": "email",
            "customer": {"external_id": f"c-{number}", "name": name, "email": email,
                         "tags": tags, "timezone": "Europe/London"},
        })  # fmt: skip
        api.call(f"/cases/{number}/close", {"cadence": "Demo"})
    api.call(f"/cases/{DEMO_CASE}/close", {"cadence": "Demo"})


def customers_answer(out: Path, phone: BrowserContext, api: Api, outbox: Path) -> None:
    """Each case's customer answers its check-in; the demo customer's page is photographed
    with a low score picked; then some answer their recovery check-in."""
    customer = phone.new_page()
    for number, *_, first, _recovery in CASES:
        if first is not None:
            answer(customer, survey_link(api, outbox, number, "check-in"), *first)

    customer.goto(survey_link(api, outbox, DEMO_CASE, "check-in") + "?score=2")
    customer.check("input[name=reasons][value='slow']")
    customer.fill("textarea[name=make_right]", "A call back this week")
    customer.evaluate("window.scrollTo(0, 0)")
    customer.screenshot(path=out / "survey-phone.png")

    # Two made right (recovered), one still unhappy (escalated).
    for number, *_, recovery in CASES:
        if recovery is not None:
            answer(customer, survey_link(api, outbox, number, "recovery check-in"), recovery)


def lead_looks(out: Path, desk: BrowserContext, url: str, login: dict) -> None:
    """The lead signs in, waits for the figures to count every answer, acknowledges all
    alerts but the latest, and photographs the recovery queue and the dashboard."""
    lead = desk.new_page()
    sign_in_page(lead, url, login["email"], login["password"])
    assert lead.url == f"{url}/admin/", lead.url

    expected = {
        "responded": sum(1 for case in CASES if case[7] is not None),
        "recovered": sum(1 for case in CASES if case[8] and case[8] >= 4),
        "escalated": sum(1 for case in CASES if case[8] and case[8] <= 2),
    }

    def figures_caught_up() -> bool:
        sums = lead.request.get(f"{url}/dashboard/figures.json?period=7d").json()["sums"]
        return all(sums[name] >= count for name, count in expected.items())

    wait_for("the dashboard's figures", figures_caught_up, timeout=90, every=1)
    lead.goto(f"{url}/admin/recoveries")
    acknowledge = lead.get_by_role("button", name="Acknowledge")
    while acknowledge.count() > 1:
        with lead.expect_navigation():
            acknowledge.last.click()
    lead.goto(f"{url}/admin/recoveries")
    lead.screenshot(path=out / "recovery-queue.png", full_page=True, clip=TOP)
    lead.goto(f"{url}/dashboard/?period=7d")
    lead.wait_for_load_state("networkidle")
    lead.screenshot(path=out / "dashboard.png", full_page=True, clip=TOP)


def take(out: Path, url: str, api: Api, outbox: Path, login: dict) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        customers_answer(out, phone, api, outbox)
        desk = browser.new_context(viewport={"width": 1280, "height": 900})
        lead_looks(out, desk, url, login)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="followup-screenshots-") as folder:
        instance = Path(folder) / "instance"
        log = Path(folder) / "run.log"
        run, url, login = start_app(instance, log)
        try:
            api = Api(url, login["key"])
            close_cases(api)
            take(out, url, api, instance / "dev-outbox.jsonl", login)
        except BaseException:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            run.send_signal(signal.SIGINT)
            run.wait(timeout=40)
    for name in ("survey-phone", "recovery-queue", "dashboard"):
        path = out / f"{name}.png"
        print(f"{path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
