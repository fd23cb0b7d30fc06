"""Dashboard: the figures page (/dashboard/) and the same figures as JSON
(/dashboard/figures.json), for the filters in the URL; bad filters are a 422 naming the
field (a page, or JSON for the JSON endpoint)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from urllib.parse import quote_plus, urlencode

from flask import current_app, jsonify, render_template, request, url_for

from followup import incidents
from followup.dashboard import bp, queries
from followup.dashboard.cells import Cells, n, pct, small_badge
from followup.dashboard.filters import PRESETS, FilterError, Filters, parse
from followup.languages import translatable
from followup.metrics import SMALL_SAMPLE, Rate
from followup.models.base import utcnow


@dataclass(frozen=True)
class View:
    """What a request asks for: its filters and the breakdowns' order."""

    filters: Filters
    sort: str
    descending: bool


def read_view() -> View:
    """The request's filters and order, else FilterError naming the argument."""
    filters = parse(request.args, utcnow().date())
    sort = request.args.get("sort") or "closed"
    if sort not in queries.SORTS:
        raise FilterError("sort", translatable("sort by one of %(sorts)s"),
                          sorts=", ".join(queries.SORTS))  # fmt: skip
    direction = request.args.get("dir") or ("asc" if sort == "name" else "desc")
    if direction not in ("asc", "desc"):
        raise FilterError("dir", translatable("asc or desc"))
    return View(filters, sort, direction == "desc")


def drill_links(filters: Filters) -> Callable[..., str]:
    """A maker of links to the list of the cases behind a number: metric (a counter), with
    these filters and any changes (agent="bo", reason="slow")."""
    base = url_for("dashboard.cases")

    quoted = cache(quote_plus)  # as urlencode quotes; the filters' values repeat

    @cache  # a breakdown row's cells share their changes: the filters are encoded once
    def encoded(changes: tuple) -> str:
        args = filters.query(**dict(changes))
        return "&".join(f"{quoted(name)}={quoted(value)}" for name, value in args.items())

    @cache
    def start(metric: str) -> str:
        return f"{base}?{urlencode({'metric': metric})}&"

    def link(metric: str, **changes) -> str:
        return start(metric) + encoded(tuple(changes.items()))

    return link


@bp.get("/")
def index():
    view = read_view()
    figures = queries.figures(view.filters, view.sort, view.descending)
    drill = drill_links(view.filters)
    incident_list = mark_incidents(view.filters, figures["trends"])
    return render_template(
        "dashboard/index.html",
        incidents=incident_list,
        segment_text=incidents.segment_text,
        zone=current_app.config["TIMEZONE"],  # the incidents' times, as the console shows them
        in_zone=incidents.in_zone,
        filters=view.filters,
        view=view,
        figures=figures,
        options=queries.options(view.filters, figures),
        presets=PRESETS,
        period=request.args.get("period", ""),
        columns=queries.COLUMNS,
        headlines=queries.HEADLINES,
        reason_scope=queries.REASON_SCOPE,
        small_sample=SMALL_SAMPLE,
        drill=drill,
        cells=Cells(drill),
        n=n,
        pct=pct,
        small_badge=small_badge,
    )


def mark_incidents(filters: Filters, trends: list[dict]) -> list:
    """The incidents overlapping the trends' weeks, each week marked with the names of those
    overlapping it (its "incidents"), so a dip is explained."""
    found, marks = incidents.week_marks([(w["start"], w["end"]) for w in trends], filters.team)
    for week in trends:
        week["incidents"] = marks.get(week["end"], [])
    return found


@bp.get("/figures.json")
def figures_json():
    view = read_view()
    figures = queries.figures(view.filters, view.sort, view.descending)
    mark_incidents(view.filters, figures["trends"])
    plain = {  # already plain values: no need to walk them
        "filters": view.filters.query(),
        "reason_scope": queries.REASON_SCOPE if view.filters.reason else None,
        "small_sample": SMALL_SAMPLE,
        **{key: figures[key] for key in ("sums", "previous_sums", "headline", "previous")},
        "breakdowns": {name: [row.as_dict() for row in rows]
                       for name, rows in figures["breakdowns"].items()},
    }  # fmt: skip
    shaped = {key: _plain(figures[key]) for key in ("response_by_channel", "trends", "funnel",
                                                     "reasons")}  # fmt: skip
    return jsonify(plain | shaped)


def _plain(value):
    """Rates as dicts and dates as ISO strings, all the way down (for JSON)."""
    if isinstance(value, Rate):
        return value.as_dict()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
