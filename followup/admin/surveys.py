"""Console pages: surveys (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/surveys")
def surveys():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>surveys</h1>{% endblock %}'
    )
