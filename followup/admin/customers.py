"""Console pages: customers (admins only). Find one by external id, email or phone; see their
identities, cases and suppressions; download everything held about them as JSON, or erase
them after typing their external id. Both are on the audit log (followup.privacy)."""

import json

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from followup.admin import bp
from followup.extensions import db
from followup.models import Case, Customer, CustomerIdentity
from followup.models.base import utcnow
from followup.privacy import erase, export, identities
from followup.web.case_input import normalise_phone
from followup.web.console import needs
from followup.web.forms import clean_text
from followup.web.pages import found, query_text

MAX_FOUND = 50


class EraseForm(FlaskForm):
    confirm = StringField(
        _l("Type the customer's id to confirm"),
        filters=[clean_text],
        validators=[InputRequired(message=_l("Type the customer's id")), Length(max=320)],
    )


def _search(query: str) -> list[Customer]:
    """Customers known by this external id, or with this email (stored lower-cased) or phone."""
    known_by = sa.select(CustomerIdentity.customer_id).where(CustomerIdentity.external_id == query)
    conditions = [Customer.id.in_(known_by), Customer.email == query.strip().lower()]
    try:
        conditions.append(Customer.phone == normalise_phone(query))
    except ValueError:
        pass  # not a phone number
    return list(
        db.session.scalars(
            sa.select(Customer).where(sa.or_(*conditions)).order_by(Customer.id).limit(MAX_FOUND)
        )
    )


def confirmation(customer: Customer) -> str:
    """What an admin types to erase the customer: their external id (else an address)."""
    return customer.external_id or customer.email or customer.phone or str(customer.id)


@bp.get("/customers")
@needs("users")
def customers():
    query = query_text("q", 320)
    matches = _search(query) if query else []
    return render_template("admin/customers/search.html", query=query, matches=matches)


def _page(customer: Customer, form: EraseForm, status: int = 200):
    cases = db.session.scalars(
        sa.select(Case).where(Case.customer_id == customer.id).order_by(Case.id.desc())
    ).all()
    return render_template(
        "admin/customers/show.html",
        customer=customer,
        identities=identities(customer),
        cases=cases,
        opted_out=customer.opted_out_channels(),
        form=form,
        confirm=confirmation(customer),
    ), status


@bp.get("/customers/<int:customer_id>")
@needs("users")
def customer(customer_id: int):
    return _page(found(Customer, customer_id), EraseForm(formdata=None))


def _not_erased(customer_id: int) -> Customer:
    """The customer, or 404 once erased (nothing is left to export or erase)."""
    customer = found(Customer, customer_id)
    if customer.erased_at is not None:
        abort(404)
    return customer


@bp.post("/customers/<int:customer_id>/export")
@needs("users")
def customer_export(customer_id: int):
    customer = _not_erased(customer_id)
    document = export(customer, utcnow())
    db.session.commit()
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.json"'},
    )


@bp.post("/customers/<int:customer_id>/erase")
@needs("users")
def customer_erase(customer_id: int):
    customer = _not_erased(customer_id)
    form = EraseForm()
    if not form.validate_on_submit():
        return _page(customer, form, 422)
    if form.confirm.data != confirmation(customer):
        form.confirm.errors.append(_("That is not this customer's id"))
        return _page(customer, form, 422)
    cases = erase(customer, utcnow())
    db.session.commit()
    flash(
        ngettext(
            "Customer #%(id)s erased: %(num)s case redacted, figures kept.",
            "Customer #%(id)s erased: %(num)s cases redacted, figures kept.",
            cases,
            id=customer_id,
        )
    )
    return redirect(url_for("admin.customer", customer_id=customer_id), 303)
