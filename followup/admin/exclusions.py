"""Console pages: exclusions (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/exclusions")
def exclusions():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>exclusions</h1>{% endblock %}'
    )
