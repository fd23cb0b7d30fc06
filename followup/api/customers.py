"""Customer API views: the export of everything held about a customer (read scope: what
reading their cases shows already) and their erasure (full scope); both audited."""

import re

from flask import g, jsonify

from followup.api import bp
from followup.api.openapi import operation
from followup.api.schemas import CustomerExport, Erased
from followup.extensions import db
from followup.models import Customer
from followup.models.base import utcnow
from followup.models.users import ApiScope
from followup.privacy import customer_by_external_id, erase, export
from followup.web.api_keys import AUTH_ERRORS
from followup.web.case_input import EXTERNAL_ID_PATTERN
from followup.web.json_body import BadRequest

CUSTOMER_ERRORS = {
    **AUTH_ERRORS,
    404: ("No customer with that external id (or erased already)", None),
}


def find_customer(external_id: str) -> Customer:
    customer = None
    if re.match(EXTERNAL_ID_PATTERN, external_id):
        customer = customer_by_external_id(external_id)
    if customer is None:
        raise BadRequest(404, "not_found", "no customer with that external id")
    return customer


def _actor() -> str:
    """Who the audit log names: the request's API key."""
    return f"API key {g.api_key.name!r}"


@operation("get", "/api/v1/customers/{external_id}/export",
           "Everything held about the customer (any of their external ids) as one document: "
           "identities, details, suppressions, and every case with its messages, answers, "
           "recoveries, gestures, tasks and timeline", scope=ApiScope.READ,
           responses={200: ("The export", CustomerExport), **CUSTOMER_ERRORS})  # fmt: skip
@bp.get("/customers/<external_id>/export")
def customer_export(external_id: str):
    customer = find_customer(external_id)
    document = export(customer, utcnow(), _actor())
    db.session.commit()
    return jsonify(document)


@operation("delete", "/api/v1/customers/{external_id}",
           "Erase the customer: their name, addresses, identities and words are removed from "
           "every case (figures stay), planned messages cancelled, suppressions kept as "
           "hashes; a second erasure is a 404", scope=ApiScope.FULL,
           responses={200: ("Erased", Erased), **CUSTOMER_ERRORS})  # fmt: skip
@bp.delete("/customers/<external_id>")
def customer_erase(external_id: str):
    customer = find_customer(external_id)
    cases = erase(customer, utcnow(), _actor())
    db.session.commit()
    return jsonify({"erased": True, "cases": cases})
