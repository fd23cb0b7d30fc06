"""The manager's dashboard under /dashboard: satisfaction and recovery figures with their
denominators, breakdowns, trends, the recovery funnel, reasons, drill-down to the cases
behind a number, exports and experiments. Signed-in users with the "read" ability (admin,
lead, manager) see it; the console's access check applies."""

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _

from followup.dashboard.filters import FilterError
from followup.web.console import check_access, console_context, console_page

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.errorhandler(FilterError)
def unreadable_filter(error: FilterError):
    """A URL argument the dashboard cannot read: a 422 naming it, as JSON for the JSON
    figures (in English, for the machines reading it), else a page in the reader's language."""
    if request.path.endswith(".json"):
        body = {"error": "unprocessable_entity", "message": error.message,
                "fields": [{"field": error.field, "message": error.message}]}  # fmt: skip
        return jsonify(body), 422
    message = _("The filter “%(field)s” could not be read: %(problem)s.", field=error.field,
                problem=_(error.text, **error.values))  # fmt: skip
    return render_template("error.html", title=_("Filter not understood"), message=message), 422


bp.before_request(check_access)
bp.after_request(console_page)
bp.app_context_processor(console_context)

from followup.dashboard import (  # noqa: E402,F401
    agent,
    cases,
    experiments,
    exports,
    kudos,
    proactive,
    root_causes,
    routes,
    themes,
)
