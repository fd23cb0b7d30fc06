"""Console pages: cadences (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/cadences")
def cadences():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>cadences</h1>{% endblock %}'
    )
