"""Threshold alert rules: the console page (managers, leads and admins; never agents), its
validation and audit, and the workers' check: each breach raises one manager alert (copied to
the alert email and webhook), the next one only after the rule has recovered."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import alert_rules
from followup.extensions import db
from followup.models import Alert, AlertBreach, AlertRule, AuditEntry, OutboundCall, User
from followup.models.base import utcnow
from followup.models.recovery import AlertAudience, AlertKind, CallKind
from followup.outbound import raise_alert
from tests.support.console import csrf_token, password_hash, sign_in
from tests.support.figures import TODAY, roll_up_stored, round_fact
from tests.support.hostile import FORM, MARKUP, STRINGS, form_body

PAGE = "/admin/alert-rules"
GOOD = {"name": "Billing CSAT", "kind": "csat_below", "team": "Billing", "agent": "",
        "threshold": "80", "min_answers": "5"}  # fmt: skip


def add_rule(**values) -> AlertRule:
    fields = {"name": "Rule", "kind": "csat_below", "threshold": 80, "min_answers": 0,
              "team": "", "agent": ""} | values  # fmt: skip
    rule = AlertRule(**fields)
    db.session.add(rule)
    db.session.commit()
    return rule


def alerts() -> list[Alert]:
    """The threshold alerts raised, oldest first."""
    db.session.expire_all()
    query = sa.select(Alert).where(Alert.kind == AlertKind.THRESHOLD).order_by(Alert.id)
    return list(db.session.scalars(query))


def post(client, path: str, data: dict):
    return client.post(path, data={"csrf_token": csrf_token(client, PAGE), **data})


@pytest.fixture
def agent(users):
    user = User(email="agent@example.com", role="agent", name="Test Agent", agent="ana",
                password_hash=password_hash(), session_version=1)  # fmt: skip
    db.session.add(user)
    db.session.commit()
    return user


# Every route; the rule's deletion last.
ROUTES = [
    ("get", PAGE),
    ("post", PAGE),
    ("get", f"{PAGE}/{{rule}}"),
    ("post", f"{PAGE}/{{rule}}"),
    ("post", f"{PAGE}/{{rule}}/active"),
    ("post", f"{PAGE}/alerts/{{alert}}/acknowledge"),
    ("post", f"{PAGE}/{{rule}}/delete"),
]


@pytest.mark.parametrize("role", ["admin", "lead", "manager", "agent", None])
def test_managers_leads_and_admins_set_alert_rules_agents_and_strangers_do_not(
    app, client, users, agent, role
):
    rule = add_rule()
    raise_alert("threshold:x", AlertAudience.MANAGER, AlertKind.THRESHOLD, "T", "", None, utcnow())
    db.session.commit()
    alert_id = db.session.scalar(sa.select(Alert.id))
    if role:
        assert sign_in(client, f"{role}@example.com").status_code == 303
    token = csrf_token(client, "/admin/account") if role else "x"
    for method, path in ROUTES:
        url = path.format(rule=rule.id, alert=alert_id)
        data = {"csrf_token": token, **GOOD} if method == "post" else None
        reply = getattr(client, method)(url, data=data)
        if role is None:
            assert reply.status_code in (302, 400), url  # to the sign-in (or no CSRF token)
        elif role == "agent":
            assert reply.status_code == 403, url
        else:
            assert reply.status_code == (200 if method == "get" else 303), (url, reply.text)
    assert (db.session.get(AlertRule, rule.id) is None) == (role in ("admin", "lead", "manager"))


def test_a_manager_creates_edits_turns_off_and_deletes_a_rule_all_audited(as_manager):
    assert post(as_manager, PAGE, GOOD).status_code == 303
    rule = db.session.scalar(sa.select(AlertRule))
    assert (rule.name, rule.team, rule.threshold, rule.min_answers, rule.active) == (
        "Billing CSAT", "Billing", 80, 5, True
    )  # fmt: skip
    page = as_manager.get(PAGE).text
    assert "CSAT (last 7 days) below 80% · team Billing · at least 5 answers" in page
    edited = {**GOOD, "kind": "reason_burst", "threshold": "4", "team": ""}
    assert post(as_manager, f"{PAGE}/{rule.id}", edited).status_code == 303
    assert post(as_manager, f"{PAGE}/{rule.id}/active", {}).status_code == 303
    db.session.expire_all()
    assert (rule.kind, rule.threshold, rule.active) == ("reason_burst", 4, False)
    assert post(as_manager, f"{PAGE}/{rule.id}/delete", {}).status_code == 303
    assert db.session.scalar(sa.select(AlertRule)) is None
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.entity, e.actor) for e in entries] == [
        ("create", "alert_rule", "manager@example.com"),
        ("update", "alert_rule", "manager@example.com"),
        ("update", "alert_rule", "manager@example.com"),
        ("delete", "alert_rule", "manager@example.com"),
    ]
    assert entries[1].after == {"kind": "reason_burst", "team": "", "threshold": 4}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": ""}, "Name the rule"),
        ({"name": "x" * 201}, "Keep the name to 200 characters or fewer"),
        ({"kind": "everything"}, "Not a valid choice"),
        ({"threshold": ""}, "Enter the threshold, a whole number"),
        ({"threshold": "0"}, "CSAT thresholds are points from 1 to 100"),
        ({"threshold": "101"}, "CSAT thresholds are points from 1 to 100"),
        ({"kind": "recoveries_overdue", "threshold": "-1"}, "Enter a count from 0 to 1,000,000"),
        ({"threshold": "4.5"}, "Not a valid integer value"),
        ({"min_answers": "-3"}, "Enter a number of answers from 0 to 1,000,000"),
        ({"team": "t" * 201}, "Keep the team to 200 characters or fewer"),
    ],
)
def test_a_bad_rule_is_a_422_naming_the_field(as_lead, changes, message):
    reply = post(as_lead, PAGE, {**GOOD, **changes})
    assert reply.status_code == 422
    assert "There is a problem" in reply.text and message in reply.text
    assert db.session.scalar(sa.select(AlertRule)) is None


@pytest.mark.parametrize("field", list(GOOD))
def test_hostile_input_in_every_field_is_refused_or_kept_as_text(as_admin, field):
    token = csrf_token(as_admin, PAGE)
    for name, value in STRINGS.items():
        body = form_body({"csrf_token": token, **GOOD, field: value})
        reply = as_admin.post(PAGE, data=body, content_type=FORM)
        assert reply.status_code in (303, 422), (name, reply.status_code)
        if reply.status_code == 422:
            assert "There is a problem" in reply.text, name
    page = as_admin.get(PAGE).text
    assert not any(markup in page for markup in MARKUP)


@pytest.mark.parametrize("segment", ["0", str(2**63), "-1", "x"])
def test_unknown_or_unreadable_ids_are_404s(as_manager, segment):
    assert as_manager.get(f"{PAGE}/{segment}").status_code == 404
    assert post(as_manager, f"{PAGE}/{segment}/delete", {}).status_code == 404


def csat_days(days_ago, score: int, team="North", first_id=1) -> None:
    db.session.add_all([round_fact(first_id + i, TODAY - timedelta(days=d), team=team,
                                   score=score) for i, d in enumerate(days_ago)])  # fmt: skip
    db.session.commit()
    roll_up_stored()


def test_a_csat_breach_alerts_once_and_again_only_after_recovering(app):
    app.config["ALERT_EMAIL"] = "ops@example.com"
    rule = add_rule(name="North CSAT", team="North", threshold=80, min_answers=4)
    csat_days(range(3), score=5)
    csat_days(range(3), score=1, first_id=100)  # 3 of 6: 50%
    assert alert_rules.evaluate(utcnow()) == {"checked": 1, "raised": 1}
    assert alert_rules.evaluate(utcnow()) == {"checked": 1, "raised": 0}
    [alert] = alerts()
    assert (alert.audience, alert.kind) == ("manager", "threshold.breached")
    assert alert.key == alert_rules.alert_key(rule, "", 1) == f"threshold:{rule.id}-{rule.token}::1"
    assert "CSAT 50% (3 of 6 answers" in alert.detail and "threshold of 80%" in alert.detail
    start = (TODAY - timedelta(days=6)).isoformat()
    assert f"http://followup.test/dashboard/?from={start}&to={TODAY}&team=North" in alert.detail
    email = db.session.scalar(
        sa.select(OutboundCall).where(OutboundCall.kind == CallKind.ALERT_EMAIL)
    )
    assert email.payload["to"] == "ops@example.com" and "CSAT 50%" in email.payload["text"]
    csat_days([0] * 10, score=5, first_id=200)  # 13 of 16: 81%, recovered
    assert alert_rules.evaluate(utcnow())["raised"] == 0
    assert not db.session.scalar(sa.select(AlertBreach.breaching))
    csat_days([0] * 20, score=1, first_id=300)  # 13 of 36: breached again
    assert alert_rules.evaluate(utcnow())["raised"] == 1
    assert [a.key for a in alerts()] == [alert_rules.alert_key(rule, "", n) for n in (1, 2)]


def test_a_csat_rule_says_nothing_under_its_answers_and_a_drop_compares_four_weeks(app):
    add_rule(name="few", threshold=80, min_answers=10)
    drop = add_rule(name="drop", kind="csat_drop", threshold=20, min_answers=2)
    csat_days(range(10, 30), score=5)  # the trailing weeks: 100%
    csat_days(range(3), score=1, first_id=100)  # this week: 0% of 3
    assert alert_rules.evaluate(utcnow()) == {"checked": 2, "raised": 1}
    [alert] = alerts()
    assert alert.key == alert_rules.alert_key(drop, "", 1)
    assert "100.0 points below the trailing 4 weeks' 100% (20 of 20 answers" in alert.detail


def test_a_burst_of_negative_answers_naming_one_reason_raises_one_alert(app, negative_answer):
    app.config["ALERT_WEBHOOK_URL"] = "https://chat.example/hook"
    rule = add_rule(name="Slow burst", kind="reason_burst", threshold=2)
    for _ in range(3):
        negative_answer(reasons=["slow"])
    negative_answer(reasons=["unfriendly"])
    assert alert_rules.evaluate(utcnow())["raised"] == 1
    assert alert_rules.evaluate(utcnow())["raised"] == 0
    [alert] = alerts()
    assert alert.key == alert_rules.alert_key(rule, "slow", 1)
    assert "3 negative answers named" in alert.title
    assert "3 of the 4 negative answers" in alert.detail and "threshold of 2" in alert.detail
    hook = db.session.scalar(
        sa.select(OutboundCall).where(OutboundCall.key == f"alert_hook:{alert.key}")
    )
    assert hook.payload["text"].startswith("*Slow burst: 3 negative answers named")
    # An hour later the burst is over: the reason has recovered, and a new burst alerts.
    assert alert_rules.evaluate(utcnow() + timedelta(hours=2))["raised"] == 0
    assert not db.session.scalar(sa.select(AlertBreach.breaching))
    for _ in range(3):
        negative_answer(reasons=["slow"])
    assert alert_rules.evaluate(utcnow())["raised"] == 1
    assert [a.key for a in alerts()] == [alert_rules.alert_key(rule, "slow", n) for n in (1, 2)]


def test_recoveries_overdue_as_the_queue_counts_them(app, negative_answer):
    rule = add_rule(name="Overdue", kind="recoveries_overdue", threshold=1)
    add_rule(name="Shipping's", kind="recoveries_overdue", threshold=0, team="Shipping")
    first, second, third = (negative_answer() for _ in range(3))
    first.answer_deadline_at = utcnow() - timedelta(minutes=1)
    second.answer_deadline_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert alert_rules.evaluate(utcnow()) == {"checked": 2, "raised": 1}  # none of Shipping's
    [alert] = alerts()
    assert alert.key == alert_rules.alert_key(rule, "", 1) and "2 recoveries overdue" in alert.title
    assert "/admin/recoveries" in alert.detail


def test_the_console_shows_open_threshold_alerts_to_acknowledge(as_manager):
    add_rule(name="Overdue", kind="recoveries_overdue", threshold=0)
    raise_alert("threshold:1::1", AlertAudience.MANAGER, AlertKind.THRESHOLD,
                            "Overdue: <script>", "detail", None, utcnow())  # fmt: skip
    db.session.commit()
    page = as_manager.get(PAGE).text
    assert "Overdue: &lt;script&gt;" in page
    [alert] = alerts()
    assert post(as_manager, f"{PAGE}/alerts/{alert.id}/acknowledge", {}).status_code == 303
    assert "No open threshold alerts." in as_manager.get(PAGE).text


def test_a_new_rule_on_a_deleted_rules_id_still_raises_its_first_alert(app):
    first = add_rule(name="First", team="North", threshold=80)
    csat_days(range(3), score=1)
    assert alert_rules.evaluate(utcnow())["raised"] == 1
    first_id = first.id
    alert_rules.delete(first)
    db.session.commit()
    second = add_rule(id=first_id, name="Second", team="North", threshold=80)  # as SQLite may
    assert second.id == first_id and second.token != first.token
    assert alert_rules.evaluate(utcnow())["raised"] == 1
    assert len(alerts()) == 2


def test_alert_keys_fit_whatever_the_names_length(app):
    long_team = "t" * 200
    rule = add_rule(name="n" * 200, team=long_team, threshold=80)
    csat_days(range(3), score=1, team=long_team)
    assert alert_rules.evaluate(utcnow())["raised"] == 1
    key = alerts()[0].key
    assert len(key) <= 130 and key.startswith(f"threshold:{rule.id}-")
    long_reason = alert_rules.alert_key(rule, "r" * 100, 10**9)
    assert len(long_reason) <= 130 and "r" * 61 not in long_reason
    assert long_reason != alert_rules.alert_key(rule, "r" * 99 + "s", 10**9)


def test_a_rename_keeps_an_ongoing_breach_a_new_threshold_starts_afresh(as_manager):
    rule = add_rule(name="North CSAT", team="North", threshold=80, min_answers=0)
    csat_days(range(3), score=1)
    assert alert_rules.evaluate(utcnow())["raised"] == 1
    same = {"name": "North's CSAT", "kind": "csat_below", "team": "North", "agent": "",
            "threshold": "80", "min_answers": "0"}  # fmt: skip
    assert post(as_manager, f"{PAGE}/{rule.id}", same).status_code == 303
    assert db.session.scalar(sa.select(AlertBreach.breaching))
    assert alert_rules.evaluate(utcnow())["raised"] == 0  # the same breach: no new alert
    assert post(as_manager, f"{PAGE}/{rule.id}", {**same, "threshold": "90"}).status_code == 303
    assert alert_rules.evaluate(utcnow())["raised"] == 1
    assert [a.key for a in alerts()] == [alert_rules.alert_key(rule, "", n) for n in (1, 2)]
