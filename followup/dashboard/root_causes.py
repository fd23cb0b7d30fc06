"""Dashboard: root causes (/dashboard/root-causes). Per cause, the causes recorded in the
period (by when the lead recorded them: root_cause_at) and the previous one, the shares of
the decided recoveries (recovered + escalated, the denominator shown) recovered and
escalated, and the undecided ones (open or withdrawn, ended by a completed task) apart (the
causes that recover least first: the manager's view); the counts by team and by agent; the
recoveries started in the period that ended without a cause. Every number links to the
recoveries behind it (/dashboard/root-causes/recoveries, each linking to its case), and both
tables and lists export as CSV. The period, team, agent and channel filters are the
dashboard's (followup.dashboard.filters)."""

from dataclasses import dataclass

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from followup import root_causes
from followup.dashboard import bp
from followup.dashboard.cells import n, pct, small_badge
from followup.dashboard.filters import PRESETS, FilterError, Filters, parse
from followup.extensions import db
from followup.languages import translatable
from followup.metrics import SMALL_SAMPLE
from followup.models import Recovery
from followup.models.base import utcnow
from followup.models.recovery import RecoveryStatus
from followup.root_causes import NOT_RECORDED, UNDECIDED, Scope
from followup.web.csv_files import csv_lines, in_chunks, streamed
from followup.web.pages import page_count, page_number, when

PAGE_SIZE = 50
OUTCOMES = {"": _l("any outcome"), RecoveryStatus.RECOVERED: _l("recovered"),
            RecoveryStatus.ESCALATED: _l("escalated"),
            UNDECIDED: _l("undecided (open or withdrawn)")}  # fmt: skip
RECOVERY_COLUMNS = ("case", "started at", "status", "team", "agent", "channel", "root cause",
                    "root cause key", "note", "recorded by", "recorded at",
                    "ended at")  # fmt: skip
CAUSE_COLUMNS = ("root cause", "key", "active", "recorded", "previous period", "decided",
                 "recovered %", "recovered", "escalated %", "escalated", "undecided",
                 "small sample")  # fmt: skip


@dataclass(frozen=True)
class Drill:
    """Which recoveries a list shows: the filters, a cause (a key, NOT_RECORDED or "" for
    every recorded one) and an outcome ("" for any)."""

    filters: Filters
    cause: str
    outcome: str

    def args(self, **changes) -> dict[str, str]:
        values = {"cause": self.cause, "outcome": self.outcome, **changes}
        return self.filters.query() | {k: v for k, v in values.items() if v}


def scope_of(filters: Filters) -> Scope:
    return Scope(filters.start, filters.end, filters.team, filters.agent, filters.channel)


def ignored(filters: Filters) -> list[str]:
    """The dashboard filters set in the URL that these figures do not apply."""
    return [name for name in ("cadence", "survey", "reason")
            if getattr(filters, "survey_id" if name == "survey" else name)]  # fmt: skip


def read_drill(args: MultiDict) -> Drill:
    """The filters, ?cause= and ?outcome=, else FilterError naming the argument."""
    filters = parse(args, utcnow().date())
    cause = (args.get("cause") or "").strip()
    if cause and cause != NOT_RECORDED and root_causes.by_key(cause) is None:
        text = translatable("no root cause %(cause)s: use a key on the list or none")
        raise FilterError("cause", text, cause=repr(cause[:50]))
    outcome = (args.get("outcome") or "").strip()
    if outcome not in OUTCOMES:
        raise FilterError(
            "outcome", translatable("recovered, escalated or undecided (or nothing, for any)")
        )
    return Drill(filters, cause, outcome)


def _options(figures: root_causes.Figures, filters: Filters) -> dict[str, list[str]]:
    found = {
        "team": {team for team, _ in figures.by_team if team},
        "agent": {agent for agent, _ in figures.by_agent if agent},
    }
    for name in found:
        if getattr(filters, name):
            found[name].add(getattr(filters, name))
    return {name: sorted(values, key=str.lower) for name, values in found.items()}


@bp.get("/root-causes")
def root_causes_page():
    filters = parse(request.args, utcnow().date())
    figures = root_causes.figures(scope_of(filters))
    listed = root_causes.causes()
    shown = {key for _value, counts in figures.by_team + figures.by_agent for key in counts}
    return render_template(
        "dashboard/root_causes.html",
        filters=filters,
        period=request.args.get("period", ""),
        undecided=UNDECIDED,
        presets=PRESETS,
        figures=figures,
        columns=[(cause.key, cause.name) for cause in listed if cause.key in shown],
        options=_options(figures, filters),
        ignored=ignored(filters),
        not_recorded=NOT_RECORDED,
        small_sample=SMALL_SAMPLE,
        n=n,
        pct=pct,
        small_badge=small_badge,
    )


def _page_of(drill: Drill, page: int):
    query = root_causes.recoveries_query(scope_of(drill.filters), drill.cause, drill.outcome)
    return db.session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()


def _heading(drill: Drill) -> str:
    if drill.cause == NOT_RECORDED:
        what = _("Ended recoveries without a root cause")
    elif drill.cause:
        cause = root_causes.by_key(drill.cause)
        what = _("Recoveries put down to %(cause)s", cause=cause.name if cause else drill.cause)
    else:
        what = _("Recoveries with a root cause")
    if not drill.outcome:
        return what
    return _("%(recoveries)s, %(outcome)s", recoveries=what, outcome=OUTCOMES[drill.outcome])


@bp.get("/root-causes/recoveries")
def root_cause_recoveries():
    drill = read_drill(request.args)
    query = root_causes.recoveries_query(scope_of(drill.filters), drill.cause, drill.outcome)
    total = root_causes.count_of(query)
    pages = page_count(total, PAGE_SIZE)
    page = page_number(request.args.get("page"), pages)
    return render_template(
        "dashboard/root_cause_recoveries.html",
        drill=drill,
        heading=_heading(drill),
        rows=_page_of(drill, page),
        total=total,
        page=page,
        pages=pages,
        outcomes=OUTCOMES,
        ignored=ignored(drill.filters),
        when=when,
    )


def _name(kind: str, filters: Filters) -> str:
    return f"{kind}-{filters.start}-to-{filters.end}.csv"


@bp.get("/export/root-causes.csv")
def export_root_causes():
    filters = parse(request.args, utcnow().date())
    figures = root_causes.figures(scope_of(filters))

    def rows():
        for row in figures.causes:
            yield (
                row.name, row.key, row.active, row.recorded, row.previous, row.decided,
                "" if row.recovered.value is None else round(100 * row.recovered.value, 1),
                row.recovered.numerator,
                "" if row.escalated.value is None else round(100 * row.escalated.value, 1),
                row.escalated.numerator, row.undecided, row.recovered.small,
            )  # fmt: skip
        # The recoveries started in the period (and the previous one) that ended without.
        yield ("(not recorded)", NOT_RECORDED, "", figures.not_recorded,
               figures.not_recorded_previous, "", "", "", "", "", "", "")  # fmt: skip

    return streamed(_name("root-causes", filters), csv_lines(CAUSE_COLUMNS, rows()))


@bp.get("/export/root-cause-recoveries.csv")
def export_root_cause_recoveries():
    drill = read_drill(request.args)
    query = root_causes.recoveries_query(scope_of(drill.filters), drill.cause, drill.outcome)

    def shape(recovery: Recovery, case: str, team, agent, key, name) -> tuple:
        return (case, recovery.started_at, recovery.status, team, agent, recovery.channel, name,
                key, recovery.root_cause_note, recovery.root_cause_by, recovery.root_cause_at,
                recovery.outcome_at)  # fmt: skip

    extra = drill.cause or "recorded"
    filename = _name(f"root-cause-recoveries-{extra}", drill.filters)
    return streamed(filename, csv_lines(RECOVERY_COLUMNS, in_chunks(query, shape)))
