"""The support lead's console under /admin (sign-in, roles, configuration pages) and the
load balancer's probes (/healthz, /readyz, /metrics).

Every console view is checked before it runs (followup.web.console.check_access).
"""

from flask import Blueprint, current_app, request

from followup.web.console import check_access, console_context, console_page

bp = Blueprint("admin", __name__, url_prefix="/admin")
probes = Blueprint("probes", __name__)


def accepts_up_to(max_bytes: int):
    """Mark a view as taking request bodies up to this size (FOLLOWUP_MAX_REQUEST_BYTES
    elsewhere): template editors, code uploads."""

    def mark(view):
        view.max_body_bytes = max_bytes
        return view

    return mark


@bp.url_value_preprocessor
def body_limit(endpoint: str | None, _values: dict | None) -> None:
    """A view's own body limit, in force before anything reads the body (the CSRF check)."""
    limit = getattr(current_app.view_functions.get(endpoint), "max_body_bytes", None)
    if limit:
        request.max_content_length = request.max_form_memory_size = limit


bp.before_request(check_access)
bp.after_request(console_page)
bp.app_context_processor(console_context)


from followup.admin import (  # noqa: E402,F401  (registers the views)
    account,
    alert_rules,
    api_keys,
    audit_log,
    auth,
    cadences,
    customers,
    exclusions,
    goodwill,
    health,
    incidents,
    organisation,
    recoveries,
    risk,
    root_causes,
    suppressions,
    surveys,
    templates,
    users,
)
