"""Console pages: recoveries (being built)."""

from flask import render_template_string

from followup.admin import bp


@bp.get("/recoveries")
def recoveries():
    return render_template_string(
        '{% extends "admin/layout.html" %}{% block console %}<h1>recoveries</h1>{% endblock %}'
    )
