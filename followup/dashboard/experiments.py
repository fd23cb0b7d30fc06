"""Dashboard: the experiments page (/dashboard/experiments): each cadence experiment, A
against B, with the response and recovery rates of each variant, their 95% intervals and
the verdicts. All the rounds since the experiment started, unless the URL names a period
(and team, agent, channel or survey) as the dashboard's filters do; bad filters are a 422."""

from flask import render_template, request

from followup.dashboard import bp
from followup.dashboard.cells import verdict
from followup.dashboard.filters import parse
from followup.experiments import experiments as running
from followup.metrics import SMALL_SAMPLE
from followup.models.base import utcnow


@bp.get("/experiments")
def experiments():
    filters = None
    if any(request.args.get(name) for name in ("period", "from", "to", "team", "agent",
                                                "channel", "survey")):  # fmt: skip
        filters = parse(request.args, utcnow().date())
    return render_template(
        "dashboard/experiments.html",
        experiments=running(filters.start, filters.end, filters.dimensions())
        if filters
        else running(),
        filters=filters,
        small_sample=SMALL_SAMPLE,
        verdict=verdict,
    )
