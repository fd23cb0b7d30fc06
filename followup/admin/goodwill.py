"""Console pages: goodwill (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/goodwill")
def goodwill():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>goodwill</h1>{% endblock %}'
    )
