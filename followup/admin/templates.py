"""Console pages: templates (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/templates")
def templates():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>templates</h1>{% endblock %}'
    )
