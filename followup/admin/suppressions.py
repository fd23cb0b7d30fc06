"""Console pages: the suppression list (every opt-out, bounce and complaint, by address),
paged and searchable, exported and imported as CSV so a move from another tool keeps its
opt-outs. The export neutralises formula cells and shows an erased address as its hash only.
The import takes channel,address[,reason] with a header line (an export too): emails validated and
lower-cased, phones (sms, whatsapp) to E.164, bad rows named by line while the good ones go on
the list through followup.suppressions.suppress (what is planned for them is suppressed at
once); addresses already listed are skipped. Both are audited. Leads and admins only."""

import csv
import io
import re

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from followup import audit
from followup.admin import accepts_up_to, bp
from followup.extensions import db
from followup.models import Suppression
from followup.models.base import utcnow
from followup.suppressions import suppress
from followup.web.case_input import normalise_email, normalise_phone
from followup.web.console import needs
from followup.web.csv_files import csv_lines, in_chunks, streamed, uncell
from followup.web.pages import paged, query_text

PER_PAGE = 50
MAX_IMPORT_BYTES = 1024 * 1024
PROBLEMS_SHOWN = 100
EXPORT_COLUMNS = ("channel", "address", "address_hash", "reason", "detail", "created_at")
IMPORT_REASON = "imported"
IMPORT_DETAIL = "imported from a CSV file"
REASON = re.compile(r"[a-z0-9_.:-]{1,50}\Z")


NORMALISE = {"email": normalise_email, "sms": normalise_phone, "whatsapp": normalise_phone}


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"))


def parse_import(data: bytes) -> tuple[list[tuple[str, str, str]], list[str]] | str:
    """The file's good rows as (channel, address, reason) and a problem per bad row, naming
    its line; or why the whole file cannot be taken."""
    if len(data) > MAX_IMPORT_BYTES:
        return _("The file is over %(mb)s MB: split it", mb=MAX_IMPORT_BYTES // (1024 * 1024))
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        header = [name.strip().lower() for name in next(reader, [])]
        if not {"channel", "address"} <= set(header):
            return _("The first line must name the columns: channel,address and optionally reason")
        rows, problems = [], []
        for cells in reader:
            values = dict(zip(header, (uncell(cell.strip()) for cell in cells), strict=False))
            if not any(values.values()):
                continue
            row = _row(values)
            if isinstance(row, str):
                problems.append(_("line %(line)s: %(problem)s", line=reader.line_num, problem=row))
            else:
                rows.append(row)
    except UnicodeDecodeError:
        return _("The file must be UTF-8 text (save it as CSV UTF-8)")
    except csv.Error as error:
        return _("The file cannot be read: %(error)s", error=error)
    return rows, problems


def _row(values: dict[str, str]) -> tuple[str, str, str] | str:
    """One row as (channel, address, reason), or what is wrong with it."""
    channel = values.get("channel", "").lower()
    if channel not in NORMALISE:
        return _("the channel must be email, sms or whatsapp")
    reason = values.get("reason", "").lower() or IMPORT_REASON
    if not REASON.match(reason):
        return _("the reason must be up to 50 letters, digits and - _ . :")
    if not values.get("address"):
        return _("no address")
    try:
        return channel, NORMALISE[channel](values["address"]), reason
    except ValueError as error:
        return str(error)[:200]


def _page(form: ImportForm, result: dict | None = None, status: int = 200):
    search = query_text("q", 320)
    query = sa.select(Suppression)
    if search:
        address = sa.func.lower(Suppression.address)
        query = query.where(address.contains(search.lower(), autoescape=True))
    order = (Suppression.created_at.desc(), Suppression.id.desc())
    listed = paged(query, order, PER_PAGE, request.args.get("page"))
    return render_template(
        "admin/suppressions.html",
        form=form,
        rows=listed.rows,
        search=search,
        page=listed.page,
        pages=listed.pages,
        total=listed.total,
        result=result,
        max_mb=MAX_IMPORT_BYTES // (1024 * 1024),
        problems_shown=PROBLEMS_SHOWN,
    ), status


@bp.get("/suppressions")
@needs("configure")
def suppressions():
    return _page(ImportForm(formdata=None))


@bp.get("/suppressions/export.csv")
@needs("configure")
def suppressions_export():
    audit.record("export", "suppression", "csv", "the suppression list exported as CSV")
    db.session.commit()
    query = sa.select(*(getattr(Suppression, name) for name in EXPORT_COLUMNS)).order_by(
        Suppression.id
    )
    rows = in_chunks(query, lambda *values: values)
    return streamed(f"suppressions-{utcnow():%Y-%m-%d}.csv", csv_lines(EXPORT_COLUMNS, rows))


@bp.post("/suppressions/import")
@needs("configure")
@accepts_up_to(MAX_IMPORT_BYTES + 64 * 1024)  # the file and the form around it
def suppressions_import():
    form = ImportForm()
    upload = request.files.get("file")
    if not form.validate_on_submit():
        return _page(form, status=422)
    if upload is None or not upload.filename:
        parsed: tuple | str = _("Choose a CSV file")
    else:
        try:
            parsed = parse_import(upload.read(MAX_IMPORT_BYTES + 1))
        finally:
            upload.close()  # a large upload is a temporary file: closed now, not at exit
    if isinstance(parsed, str):
        form.file.errors = [parsed]
        return _page(form, status=422)
    rows, problems = parsed
    now = utcnow()
    imported = sum(suppress(channel, address, reason, IMPORT_DETAIL, now)
                   for channel, address, reason in rows)  # fmt: skip
    result = {"imported": imported, "already_listed": len(rows) - imported,
              "bad_rows": len(problems)}  # fmt: skip
    summary = (f"{imported} imported, {result['already_listed']} already listed, "
               f"{len(problems)} bad rows")  # fmt: skip
    audit.record("import", "suppression", "csv", summary, None, result)
    db.session.commit()
    return _page(ImportForm(formdata=None), {**result, "problems": problems})
