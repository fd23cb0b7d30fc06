"""The organisation's brand on the pages customers see (survey, thanks, unsubscribe, their
error pages, and a lead's preview of the survey page): the public /brand/logo and
/brand/style.css (the accent colour as CSS custom properties: the Content-Security-Policy
allows no inline style), and `page_brand()`, what templates/layout.html shows. Console
pages are not branded."""

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    has_request_context,
    request,
    url_for,
)

from followup.brand import (
    PAGE_ACCENT,
    accent,
    darker,
    fitted,
    footer_lines,
    privacy_link,
    stored_logo,
    version,
)
from followup.organisation import organisation

bp = Blueprint("brand", __name__, url_prefix="/brand")

# The customer's pages: those of these blueprints, and the console's preview of the survey.
CUSTOMER_BLUEPRINTS = {"surveys", "unsubscribe"}
CUSTOMER_ENDPOINTS = {"admin.surveys_preview"}
LOGO_BOX = (240, 64)  # the logo's box in the page header (CSS pixels)
YEAR = 365 * 86400


def _cached(response: Response) -> Response:
    """Public files: kept a year under the current ?v= (a save changes it), else briefly."""
    current = request.args.get("v") == version(organisation())
    response.headers["Cache-Control"] = (
        f"public, max-age={YEAR}, immutable" if current else "public, max-age=300"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/logo")
def logo():
    settings = organisation()
    if settings.logo_type not in ("image/png", "image/jpeg") or not settings.logo:
        abort(404)
    return _cached(Response(settings.logo, mimetype=settings.logo_type))


@bp.get("/style.css")
def style():
    colour = accent(organisation(), PAGE_ACCENT)
    css = (
        "/* The organisation's accent colour (set in the console), over /static/style.css. */\n"
        f":root {{ --accent: {colour}; --accent-dark: {darker(colour, 0.8)}; "
        f"--focus: {colour}; }}\n"
    )
    return _cached(Response(css, mimetype="text/css"))


def page_brand() -> dict | None:
    """What the layout shows of the brand on a customer's page (None on the console's): the
    logo's URL and size in the header, the brand stylesheet when an accent colour is set,
    the footer's address lines and privacy link."""
    if not has_request_context() or (
        request.blueprint not in CUSTOMER_BLUEPRINTS and request.endpoint not in CUSTOMER_ENDPOINTS
    ):
        return None
    settings = organisation()
    v = version(settings)
    image = stored_logo(settings)
    width, height = fitted(image, LOGO_BOX) if image else (None, None)
    return {
        "name": current_app.config["ORGANISATION_NAME"],
        "logo_url": url_for("brand.logo", v=v) if image else None,
        "logo_width": width,
        "logo_height": height,
        "stylesheet": url_for("brand.style", v=v) if settings.accent_colour else None,
        "footer_address": footer_lines(settings),
        "privacy_url": privacy_link(settings),
    }


def register_brand(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["page_brand"] = page_brand
