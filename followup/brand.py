"""The organisation's brand (followup.organisation's settings) and its rules: the accent
colour's contrast against white (WCAG 2.x relative luminance, AA needs 4.5:1 for text), a
logo's type and size read from its bytes (PNG or JPEG, never SVG: it can carry script), the
sender name's and privacy link's form; and the brand as survey pages and emails use it."""

import math
import re
import struct
from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import gettext as _

from followup.models import OrganisationSettings
from followup.organisation import organisation
from followup.targets import web_address
from followup.text import is_text

MIN_CONTRAST = 4.5  # WCAG 2.x AA, normal text
# The product's own accent on pages (followup/static/style.css) and in the default emails.
PAGE_ACCENT = "#0b57d0"
EMAIL_ACCENT = "#1f6feb"
WHITE = "#ffffff"

MAX_LOGO_BYTES = 200 * 1024
MAX_LOGO_SIDE = 2000  # pixels, width and height
MAX_SENDER_NAME = 100
MAX_FOOTER_ADDRESS = 500
MAX_PRIVACY_URL = 500
# The logo's box in an email's header (pixels): kept within it, its proportions kept.
EMAIL_LOGO_BOX = (200, 48)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
# JPEG frame markers (baseline, progressive, lossless...) that carry the image's size.
_JPEG_FRAMES = {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
# JPEG markers without a length: TEM and the restart markers.
_JPEG_BARE = {0x01, *range(0xD0, 0xD8)}
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}\Z")
# Line breaks and control characters: in a From header they would start a header of their own.
_HEADER_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# The accent colour


def is_colour(value: str) -> bool:
    """A colour as the page stores it: "#rrggbb"."""
    return bool(_COLOUR.match(value))


def accent(settings: OrganisationSettings, default: str) -> str:
    """The organisation's accent colour, else (unset, or not a colour) the default."""
    return settings.accent_colour if is_colour(settings.accent_colour or "") else default


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of "#rrggbb" (0 black, 1 white)."""
    r, g, b = (_channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(colour: str, against: str = WHITE) -> float:
    """The WCAG contrast ratio of two colours, 1 to 21."""
    one, other = relative_luminance(colour), relative_luminance(against)
    return (max(one, other) + 0.05) / (min(one, other) + 0.05)


def shown_ratio(ratio: float) -> str:
    """A ratio as people read it, rounded down ("4.49:1", never "4.5:1" for 4.497)."""
    return f"{math.floor(ratio * 100) / 100:.2f}:1"


def darker(colour: str, factor: float) -> str:
    """The colour with each channel scaled by factor (0 black, 1 the same): its hue kept."""
    return "#" + "".join(
        f"{min(255, round(int(colour[i : i + 2], 16) * factor)):02x}" for i in (1, 3, 5)
    )


def darker_passing(colour: str) -> str:
    """The lightest darker shade of the colour that reaches MIN_CONTRAST against white."""
    for step in range(100, -1, -1):
        shade = darker(colour, step / 100)
        if contrast_ratio(shade) >= MIN_CONTRAST:
            return shade
    return "#000000"


def accent_problem(colour: str) -> str | None:
    """Why an accent colour cannot be saved, or None ("" is the product's own)."""
    if not colour:
        return None
    if not is_colour(colour):
        return _("Enter a colour as # and six hexadecimal digits, such as #0b57d0.")
    ratio = contrast_ratio(colour)
    if ratio < MIN_CONTRAST:
        return _(
            "%(colour)s has a contrast of %(ratio)s against white; buttons and links need at "
            "least %(min_ratio)s (WCAG AA). Try a darker shade, such as %(darker)s.",
            colour=colour,
            min_ratio=f"{MIN_CONTRAST}:1",
            ratio=shown_ratio(ratio),
            darker=darker_passing(colour),
        )
    return None


# The logo


@dataclass(frozen=True)
class Image:
    type: str  # image/png or image/jpeg
    width: int
    height: int


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, walking its segments."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _JPEG_BARE:
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # the end, or the scan, before any frame header
            return None
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if length < 2:
            return None
        if marker in _JPEG_FRAMES:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def read_image(data: bytes) -> Image | None:
    """The image's type and size from its bytes (signature and header), whatever its name or
    claimed type; None when it is not a PNG or JPEG whose header says its size."""
    if data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return Image("image/png", width, height)
    if data.startswith(JPEG_SIGNATURE) and (size := _jpeg_size(data)):
        return Image("image/jpeg", *size)
    return None


def _looks_like_svg(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".svg", ".svgz")) or b"<svg" in data[:4096].lower()


def checked_logo(data: bytes, filename: str = "") -> tuple[Image | None, str | None]:
    """The file read once: (its image, None) when it can be the logo, else (None, why not)."""
    if not data:
        return None, _("The file is empty: choose a PNG or JPEG image.")
    if len(data) > MAX_LOGO_BYTES:
        return None, _(
            "The file is %(size)s KB: a logo may be up to %(most)s KB.",
            size=math.ceil(len(data) / 1024),
            most=MAX_LOGO_BYTES // 1024,
        )
    image = read_image(data)
    if image is None:
        if _looks_like_svg(data, filename):
            return None, _(
                "SVG images are not accepted (they can carry script): upload a PNG or JPEG."
            )
        return None, _("The file is not a PNG or JPEG image (whatever its name says).")
    if not (0 < image.width <= MAX_LOGO_SIDE and 0 < image.height <= MAX_LOGO_SIDE):
        return None, _(
            "The image is %(width)s × %(height)s pixels: a logo may be up to %(most)s × %(most)s.",
            width=image.width,
            height=image.height,
            most=MAX_LOGO_SIDE,
        )
    return image, None


def stored_logo(settings: OrganisationSettings) -> Image | None:
    """The saved logo's type and size as stored with it (its bytes not read), or None."""
    if settings.logo_type and settings.logo_width and settings.logo_height:
        return Image(settings.logo_type, settings.logo_width, settings.logo_height)
    return None


def fitted(image: Image, box: tuple[int, int]) -> tuple[int, int]:
    """The image's size within a box (width, height), its proportions kept, never enlarged."""
    scale = min(1, box[0] / image.width, box[1] / image.height)
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


# Sender name, footer address and privacy link


def sender_name_problem(name: str) -> str | None:
    """Why a sender name cannot be an email's From name, or None."""
    if len(name) > MAX_SENDER_NAME:
        return _("Use at most %(most)s characters.", most=MAX_SENDER_NAME)
    if _HEADER_BREAKING.search(name) or not is_text(name):
        return _("Use one line of text, without line breaks or control characters.")
    return None


def footer_address_problem(text: str) -> str | None:
    """Why a footer address cannot be shown, or None."""
    if len(text) > MAX_FOOTER_ADDRESS or not is_text(text):
        return _("Use at most %(most)s characters of text.", most=MAX_FOOTER_ADDRESS)
    return None


def privacy_url_problem(url: str) -> str | None:
    """Why a privacy link cannot be shown to customers, or None ("" is none): a web address's
    form as followup.targets has it (a user name in it refused too); never resolved, as it
    is only shown, never fetched."""
    if not url:
        return None
    if len(url) > MAX_PRIVACY_URL:
        return _("Use at most %(most)s characters.", most=MAX_PRIVACY_URL)
    if web_address(url)[1] is not None:
        return _("Enter an http or https address, such as https://example.com/privacy.")
    return None


def privacy_link(settings: OrganisationSettings) -> str | None:
    """The privacy link to show, or None: unset, or a stored one the rule refuses (written
    before the rule, or by hand) is never put in an href."""
    url = settings.privacy_url or ""
    return url if url and privacy_url_problem(url) is None else None


# The brand where it shows


def version(settings: OrganisationSettings) -> str:
    """Changes whenever the settings are saved (their save time in milliseconds): the logo's
    and stylesheet's ?v=."""
    return str(int(settings.updated_at.timestamp() * 1000)) if settings.updated_at else "0"


def footer_lines(settings: OrganisationSettings) -> list[str]:
    return [line.strip() for line in settings.footer_address.splitlines() if line.strip()]


def email_brand() -> dict:
    """The `brand` variable of message templates: the logo's absolute URL (with its version)
    and its size in the header, the accent colour, the footer's address lines and the
    privacy link. The defaults (no logo, the product's accent, no footer) when none is set."""
    brand: dict = {
        "logo_url": None, "logo_width": None, "logo_height": None, "accent_colour": EMAIL_ACCENT,
        "footer_address": [], "privacy_url": None, "sender_name": None,
    }  # fmt: skip
    if not has_app_context():
        return brand
    settings = organisation()
    image = stored_logo(settings)
    if image is not None:
        width, height = fitted(image, EMAIL_LOGO_BOX)
        base = current_app.config["PUBLIC_BASE_URL"]
        brand.update(logo_url=f"{base}/brand/logo?v={version(settings)}", logo_width=width,
                     logo_height=height)  # fmt: skip
    brand.update(
        accent_colour=accent(settings, EMAIL_ACCENT),
        footer_address=footer_lines(settings),
        privacy_url=privacy_link(settings),
        sender_name=settings.sender_name or None,
    )
    return brand
