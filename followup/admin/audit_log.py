"""Console pages: audit_log (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/audit-log")
def audit_log():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>audit_log</h1>{% endblock %}'
    )
