"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi."""

from followup import create_app

app = create_app()
