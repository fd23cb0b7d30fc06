"""Console pages: health (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/health")
def health():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>health</h1>{% endblock %}'
    )
