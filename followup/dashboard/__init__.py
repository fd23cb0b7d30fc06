"""The manager's dashboard under /dashboard: satisfaction and recovery figures with their
denominators, breakdowns, trends, the recovery funnel, reasons, drill-down to the cases
behind a number, exports and experiments. Signed-in users with the "read" ability (admin,
lead, manager) see it; the console's access check applies."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from followup.admin import check_access, console_context, private_page  # noqa: E402

bp.before_request(check_access)
bp.after_request(private_page)
bp.app_context_processor(console_context)

from followup.dashboard import cases, experiments, exports, routes  # noqa: E402,F401
