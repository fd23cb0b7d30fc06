"""Console pages: users (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/users")
def users():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>users</h1>{% endblock %}'
    )
