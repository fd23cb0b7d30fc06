"""Dashboard: proactive outreach (/dashboard/proactive). Does reaching out before the survey
work? Per proactive cadence and overall, the rounds handled against those the holdout kept
from it, with their rates, intervals and verdicts (followup.proactive_figures). A period
counts the rounds that closed in it; the other dashboard filters are not applied (the page
says so when one is set); bad filters are a 422."""

from flask import render_template, request

from followup.dashboard import bp
from followup.dashboard.cells import verdict
from followup.dashboard.filters import PRESETS, parse
from followup.metrics import SMALL_SAMPLE
from followup.models.base import utcnow
from followup.models.proactive import PROACTIVE_OUTCOMES
from followup.proactive_figures import OPEN, comparison


@bp.get("/proactive")
def proactive():
    filters = parse(request.args, utcnow().date())
    ignored = [name for name in ("team", "agent", "channel", "cadence", "reason")
               if getattr(filters, name)] + (["survey"] if filters.survey_id else [])  # fmt: skip
    return render_template(
        "dashboard/proactive.html",
        filters=filters,
        period=request.args.get("period", ""),
        presets=PRESETS,
        groups=comparison(filters.start, filters.end),
        outcomes=(*PROACTIVE_OUTCOMES, OPEN),
        ignored=ignored,
        small_sample=SMALL_SAMPLE,
        verdict=verdict,
    )
