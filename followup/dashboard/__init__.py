"""The manager's dashboard under /dashboard: satisfaction and recovery figures with their
denominators, breakdowns, trends, the recovery funnel, reasons, drill-down to the cases
behind a number, exports and experiments. Signed-in users with the "read" ability (admin,
lead, manager) see it; the console's access check applies."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
