"""Threshold alerts: the rules a manager sets (followup.models.alert_rules), checked by the
workers every few minutes against the dashboard's own figures (followup.figures), each breach
raised once as a manager alert (the console's queue, FOLLOWUP_ALERT_EMAIL, the Slack-compatible
FOLLOWUP_ALERT_WEBHOOK_URL) and again only after the rule has recovered.

What each kind reads:
- CSAT below / CSAT drop: the rollups' CSAT of the last 7 days (today's rollup day and the 6
  before, as the dashboard's "7d"), against the trailing 4 weeks before them for a drop; no
  verdict (the state is kept) under `min_answers` answers.
- A reason burst: the negative first answers of the last hour (answers by the index of when
  they came, whose round's recovery was started and not withdrawn), per reason they name.
- Recoveries overdue: open recoveries with a task past its due time (the lead's queue flags
  those) or past the check-in's answer deadline (followup.figures.overdue_clause).
- A rising theme: per comment theme, its comments of the last 7 days (as the dashboard's
  "7d", followup.theme_figures) against the 7 days before: in breach when they are at least
  `min_answers` (and at least 1) and up by at least `threshold` percent (a theme with none
  before counts as risen); one subject per theme ("theme:<id>"), and a theme with no comment
  in the window has recovered.

Each rule and subject ("", a reason or a theme) keeps a breach row: `breaching` and the number of
breaches so far, which is part of the alert's key with the rule's id and random token, so a
run on another host at the same time raises nothing twice and a later rule that reuses a
deleted rule's id (SQLite) still raises its first alert. A change of what a rule watches
starts it afresh; a rename does not. Operations flush; `evaluate` commits per rule."""

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from followup import theme_figures
from followup.extensions import db
from followup.figures import Filters, overdue_recoveries, reason_labels, sums
from followup.models import AlertBreach, AlertRule, Case, Recovery, Response
from followup.models.alert_rules import AlertRuleKind
from followup.models.recovery import AlertAudience, AlertKind, RecoveryStatus
from followup.outbound import insert_once, raise_alert
from followup.staff_emails import console_url

RECENT_DAYS = 7
TRAILING_DAYS = 28
BURST_WINDOW = timedelta(hours=1)
KIND_LABELS = {
    AlertRuleKind.CSAT_BELOW: "CSAT (last 7 days) below",
    AlertRuleKind.CSAT_DROP: "CSAT (last 7 days) points below its trailing 4 weeks",
    AlertRuleKind.REASON_BURST: "Negative answers naming one reason in an hour: more than",
    AlertRuleKind.RECOVERIES_OVERDUE: "Recoveries overdue: more than",
    AlertRuleKind.THEME_RISING: "A comment theme (last 7 days) up on the 7 days before by at least",
}
CSAT_KINDS = (AlertRuleKind.CSAT_BELOW, AlertRuleKind.CSAT_DROP)
MAX_COUNT = 1_000_000
# What a rule watches: a change of any of these starts the rule afresh (nothing in breach).
WATCHED = ("kind", "threshold", "team", "agent", "min_answers")
# The kinds whose subjects (reasons, themes) a reading may not mention: those it does not are
# no longer in breach.
SUBJECTS_COME_AND_GO = (AlertRuleKind.REASON_BURST, AlertRuleKind.THEME_RISING)
SUBJECT_IN_KEY = 60  # longer subjects are hashed in the alert's key (alerts.key: 200)


@dataclass(frozen=True)
class Reading:
    """One subject's figure as a rule sees it: whether it is over the threshold, and the
    alert's title and text should it be a new breach."""

    subject: str
    breaching: bool
    title: str
    detail: str


def rule_problems(kind: str, threshold: int | None, min_answers: int | None) -> dict[str, str]:
    """What is wrong with a rule's numbers for its kind: {field: message}."""
    problems = {}
    if kind not in tuple(AlertRuleKind):
        problems["kind"] = "Choose what the rule watches"
    elif threshold is None:
        problems["threshold"] = "Enter the threshold, a whole number"
    elif kind in CSAT_KINDS and not 1 <= threshold <= 100:
        problems["threshold"] = "CSAT thresholds are points from 1 to 100"
    elif kind == AlertRuleKind.THEME_RISING and not 1 <= threshold <= MAX_COUNT:
        problems["threshold"] = f"Enter the rise in percent, from 1 to {MAX_COUNT:,}"
    elif not 0 <= threshold <= MAX_COUNT:
        problems["threshold"] = f"Enter a count from 0 to {MAX_COUNT:,}"
    if min_answers is not None and not 0 <= min_answers <= MAX_COUNT:
        problems["min_answers"] = f"Enter a number of answers from 0 to {MAX_COUNT:,}"
    return problems


def describe(rule: AlertRule) -> str:
    """The rule in words: "CSAT (last 7 days) below 80% · team Billing · at least 30 answers"."""
    unit = "%" if rule.kind in (AlertRuleKind.CSAT_BELOW, AlertRuleKind.THEME_RISING) else ""
    unit = " points" if rule.kind == AlertRuleKind.CSAT_DROP else unit
    parts = [f"{KIND_LABELS.get(AlertRuleKind(rule.kind), rule.kind)} {rule.threshold}{unit}"]
    parts.append(scope_words(rule))
    if rule.kind in CSAT_KINDS:
        parts.append(f"at least {rule.min_answers} answers")
    if rule.kind == AlertRuleKind.THEME_RISING:
        parts.append(f"at least {max(rule.min_answers, 1)} comments")
    return " · ".join(parts)


def scope_words(rule: AlertRule) -> str:
    said = [f"team {rule.team}"] * bool(rule.team) + [f"agent {rule.agent}"] * bool(rule.agent)
    return ", ".join(said) or "everyone"


def watched(rule: AlertRule) -> tuple:
    """What the rule watches (kind, threshold or points, team, agent, minimum answers)."""
    return tuple(getattr(rule, name) for name in WATCHED)


def alert_key(rule: AlertRule, subject: str, breach: int) -> str:
    """The alert's key for a rule's breach of a subject: the rule's id and token, the subject
    (hashed when long) and the breach's number; at most 130 characters, so the alert email's
    and hook's keys ("alert_email:" + key) fit outbound_calls.key too."""
    if len(subject) > SUBJECT_IN_KEY:
        subject = "sha256-" + hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"threshold:{rule.id}-{rule.token}:{subject}:{breach}"


def reset(rule: AlertRule) -> None:
    """A changed rule starts afresh: none of its subjects is in breach (their counts stay, so
    the next breach's alert has a new key)."""
    db.session.execute(
        sa.update(AlertBreach).where(AlertBreach.rule_id == rule.id).values(breaching=False)
    )


def delete(rule: AlertRule) -> None:
    db.session.execute(sa.delete(AlertBreach).where(AlertBreach.rule_id == rule.id))
    db.session.delete(rule)


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def _csat(rule: AlertRule, now: datetime) -> list[Reading]:
    today = now.date()
    recent = Filters(
        start=today - timedelta(days=RECENT_DAYS - 1), end=today, team=rule.team, agent=rule.agent
    )
    counts = sums(recent)[""][""]
    answers, positive = counts["csat_n"], counts["csat_positive"]
    if answers == 0 or answers < rule.min_answers:
        return []  # too few answers to say anything: the state stays as it was
    value = 100 * positive / answers
    link = console_url("/dashboard/", recent.query())
    who = scope_words(rule)
    figure = (
        f"CSAT {_percent(value)} ({positive} of {answers} answers, {recent.start} to {recent.end})"
    )
    if rule.kind == AlertRuleKind.CSAT_BELOW:
        return [
            Reading(
                "",
                value < rule.threshold,
                f"{rule.name}: CSAT {_percent(value)} is below {rule.threshold}% ({who})",
                f"{figure} for {who}, below the threshold of {rule.threshold}% "
                f"(rule: {describe(rule)}).\nDashboard: {link}",
            )
        ]
    trailing = Filters(
        start=recent.start - timedelta(days=TRAILING_DAYS),
        end=recent.start - timedelta(days=1),
        team=rule.team,
        agent=rule.agent,
    )
    before = sums(trailing)[""][""]
    if not before["csat_n"]:
        return []
    usual = 100 * before["csat_positive"] / before["csat_n"]
    drop = usual - value
    return [
        Reading(
            "",
            drop > rule.threshold,
            f"{rule.name}: CSAT {_percent(value)} is {drop:.1f} points below its "
            f"trailing 4 weeks ({who})",
            f"{figure} for {who}, {drop:.1f} points below the trailing 4 weeks' "
            f"{_percent(usual)} ({before['csat_positive']} of {before['csat_n']} "
            f"answers, {trailing.start} to {trailing.end}); the threshold is "
            f"{rule.threshold} points (rule: {describe(rule)}).\nDashboard: {link}",
        )
    ]


def negative_reasons(
    since: datetime, until: datetime, team: str = "", agent: str = ""
) -> tuple[Counter, int]:
    """The reasons named by the negative first answers that came in this window (their
    round's recovery started and not withdrawn), and how many such answers came."""
    query = (
        sa.select(Response.reason_codes)
        .join(
            Recovery,
            sa.and_(Recovery.case_id == Response.case_id, Recovery.round == Response.round),
        )
        .where(
            Response.created_at >= since,
            Response.created_at < until,
            Response.recovery_id.is_(None),
            Recovery.status != RecoveryStatus.WITHDRAWN,
        )
    )
    if team or agent:
        query = query.join(Case, Case.id == Response.case_id)
        if team:
            query = query.where(Case.team == team)
        if agent:
            query = query.where(Case.agent_name == agent)
    named: Counter = Counter()
    total = 0
    for codes in db.session.scalars(query):
        total += 1
        named.update({str(code) for code in codes or [] if code})
    return named, total


def _burst(rule: AlertRule, now: datetime) -> list[Reading]:
    since = now - BURST_WINDOW
    named, total = negative_reasons(since, now, rule.team, rule.agent)
    labels = reason_labels() if named else {}
    who = scope_words(rule)
    readings = []
    for reason, count in sorted(named.items()):
        label = labels.get(reason) or reason
        args = Filters(
            start=now.date(), end=now.date(), team=rule.team, agent=rule.agent, reason=reason
        ).query()
        link = console_url("/dashboard/cases", {"metric": "negative", **args})
        readings.append(
            Reading(
                reason[:100],
                count > rule.threshold,
                f"{rule.name}: {count} negative answers named “{label}” in an hour ({who})",
                f"{count} of the {total} negative answers of the hour to {now:%Y-%m-%d %H:%M} UTC "
                f"for {who} named “{label}”, more than the threshold of {rule.threshold} "
                f"(rule: {describe(rule)}).\nDashboard: {link}",
            )
        )
    return readings


def _overdue(rule: AlertRule, now: datetime) -> list[Reading]:
    count = overdue_recoveries(now, rule.team, rule.agent)
    who = scope_words(rule)
    link = console_url("/admin/recoveries")
    return [
        Reading(
            "",
            count > rule.threshold,
            f"{rule.name}: {count} recoveries overdue ({who})",
            f"{count} open recoveries for {who} have a task past its due time or are "
            f"past their check-in's answer deadline, more than the threshold of "
            f"{rule.threshold} (rule: {describe(rule)}).\nRecovery queue: {link}",
        )
    ]


def _themes(rule: AlertRule, now: datetime) -> list[Reading]:
    today = now.date()
    recent = Filters(
        start=today - timedelta(days=RECENT_DAYS - 1), end=today, team=rule.team, agent=rule.agent
    )
    # Rolling 7 days to now against the 7 days before: a day under way is not judged whole.
    span = (now - timedelta(days=RECENT_DAYS), now + timedelta(seconds=1))  # now included
    figures = theme_figures.figures(recent, with_examples=False, span=span)
    factor = 1 + rule.threshold / 100
    least = max(rule.min_answers, 1)
    who = scope_words(rule)
    readings = []
    for row in figures.themes:
        if row.retired:
            continue  # its comments are another theme's (merged) or wait for the rebuild
        link = console_url(f"/dashboard/themes/{row.theme_id}", recent.query())
        before = f"{row.previous} the 7 days before" if row.previous else "none the 7 days before"
        readings.append(
            Reading(
                f"theme:{row.theme_id}",
                theme_figures.rising(row.comments, row.previous, factor, least),
                f"{rule.name}: theme “{row.name}” rising, {row.comments} comments in 7 days "
                f"({who})",
                f"{row.comments} comments for {who} in the theme “{row.name}” in the 7 days to "
                f"{now:%Y-%m-%d %H:%M} UTC against {before} ({row.negative.numerator} "
                f"negative); the rule wants a rise of at least {rule.threshold}% with at least "
                f"{least} comments (rule: {describe(rule)}).\nTheme: {link}",
            )
        )
    return readings


READERS = {
    AlertRuleKind.CSAT_BELOW: _csat,
    AlertRuleKind.CSAT_DROP: _csat,
    AlertRuleKind.REASON_BURST: _burst,
    AlertRuleKind.RECOVERIES_OVERDUE: _overdue,
    AlertRuleKind.THEME_RISING: _themes,
}


def _state(rule_id: int, subject: str) -> AlertBreach:
    """The rule's breach row for this subject, locked until the commit (PostgreSQL), made at
    "not in breach" when missing."""
    insert_once(AlertBreach, rule_id=rule_id, subject=subject, breaching=False, breaches=0)
    return db.session.scalars(
        sa.select(AlertBreach)
        .where(AlertBreach.rule_id == rule_id, AlertBreach.subject == subject)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def check(rule: AlertRule, now: datetime) -> int:
    """Read one rule's figures and move its breach states; the alerts raised (flushes)."""
    readings = READERS[AlertRuleKind(rule.kind)](rule, now)
    raised = 0
    for reading in readings:
        state = _state(rule.id, reading.subject)
        state.checked_at = now
        if reading.breaching and not state.breaching:
            state.breaching, state.breaches, state.changed_at = True, state.breaches + 1, now
            key = alert_key(rule, reading.subject, state.breaches)
            raised += raise_alert(
                key,
                AlertAudience.MANAGER,
                AlertKind.THRESHOLD,
                reading.title,
                reading.detail,
                None,
                now,
            )
        elif not reading.breaching and state.breaching:
            state.breaching, state.changed_at = False, now  # recovered: the next one alerts
    if rule.kind in SUBJECTS_COME_AND_GO:  # a reason or theme not read this time has recovered
        seen = [reading.subject for reading in readings]
        db.session.execute(
            sa.update(AlertBreach)
            .where(
                AlertBreach.rule_id == rule.id,
                AlertBreach.breaching.is_(True),
                AlertBreach.subject.not_in(seen),
            )
            .values(breaching=False, changed_at=now, checked_at=now)
        )
    db.session.flush()
    return raised


def evaluate(now: datetime) -> dict[str, int]:
    """Check every active rule (one transaction each); how many were checked and raised."""
    rule_ids = list(
        db.session.scalars(
            sa.select(AlertRule.id).where(AlertRule.active.is_(True)).order_by(AlertRule.id)
        )
    )
    db.session.rollback()
    checked = raised = 0
    for rule_id in rule_ids:
        rule = db.session.get(AlertRule, rule_id)
        if rule is None or not rule.active:
            continue
        raised += check(rule, now)
        db.session.commit()
        checked += 1
    return {"checked": checked, "raised": raised}
