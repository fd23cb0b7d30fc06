"""Dashboard: the figures page (being built)."""

from flask import render_template_string

from followup.dashboard import bp


@bp.get("/")
def index():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>Dashboard</h1>{% endblock %}'
    )
