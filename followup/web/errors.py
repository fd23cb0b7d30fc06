"""Error responses: JSON under /api/ and /webhooks/ (in English), friendly pages elsewhere (in
the reader's language); never a bare 500."""

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from followup.extensions import db

PAGE_MESSAGES = {
    400: (_l("Something was wrong with that request"), _l("Please go back and try again.")),
    403: (_l("Not allowed"), _l("You don't have access to this page.")),
    404: (_l("Page not found"), _l("We couldn't find what you were looking for.")),
    405: (_l("Not allowed"), _l("That action isn't available here.")),
    410: (_l("This page has closed"), _l("This link is no longer active. Thank you!")),
    413: (_l("Too much data"), _l("What you sent was too large.")),
    500: (_l("Something went wrong"), _l("We have been told about it. Please try again later.")),
}


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/"))


def json_error(status: int, error: str, message: str, fields: list[dict] | None = None):
    body = {"error": error, "message": message}
    if fields is not None:
        body["fields"] = fields
    return jsonify(body), status


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if isinstance(error, InternalServerError):
            db.session.rollback()
        status = error.code or 500
        if wants_json():
            name = (error.name or "error").lower().replace(" ", "_")
            response, _ = json_error(status, name, error.description or error.name)
        else:
            title, message = PAGE_MESSAGES.get(status, (error.name, error.description))
            response = app.make_response(
                render_template("error.html", title=title, message=message)
            )
        # Keep the error's own headers, such as Allow on a 405 and WWW-Authenticate on a 401.
        for header, value in error.get_headers():
            if header.lower() != "content-type":
                response.headers[header] = value
        return response, status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return http_error(InternalServerError())
