"""The goodwill console pages: the catalogue, creating and editing gesture types (money,
kinds, offers in Spanish), code uploads, the recovery rules in their order, the recovery
cadence's links; audited, read-only for managers, and safe against hostile input."""

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from followup.extensions import db
from followup.goodwill import add_codes
from followup.models import AuditEntry, Gesture, GestureType, GoodwillCode, RecoveryRule
from followup.models.base import utcnow
from followup.setup import OFFER_TRANSLATIONS
from tests.support.answers import answer_on_page, survey_token
from tests.support.cases import EMAIL_CASE, close, later, sent_messages, sweep_and_dispatch
from tests.support.console import csrf_token

NEW = "/admin/goodwill/new"
GOOD = {
    "key": "gift-card",
    "name": "Gift card",
    "kind": "code",
    "offer": "a $15 gift card",
    "offer_es": "una tarjeta regalo de 15 $",
    "value": "15",
    "cost": "12.50",
    "currency": "usd",
    "monthly_budget": "300.00",
    "low_codes": "5",
    "webhook_url": "",
    "assignee": "",
    "due_hours": "24",
    "active": "y",
}


def gesture(key: str) -> GestureType | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(GestureType).where(GestureType.key == key))


def rules() -> list[tuple[int, str]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(RecoveryRule.position, RecoveryRule.name).order_by(RecoveryRule.position)
    )
    return [tuple(row) for row in rows]


def audits(entity: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        )
    )


def post(client, path: str, data: dict, form_page: str | None = None, **kwargs):
    token = csrf_token(client, form_page or path)
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# The catalogue


def test_the_catalogue_shows_budgets_spend_and_codes(as_lead, seeded):
    discount = gesture("discount-10")
    add_codes(discount, [f"D-{n}" for n in range(12)], utcnow())
    shipping = gesture("free-shipping")
    add_codes(shipping, ["S-1", "S-2"], utcnow())
    db.session.commit()
    page = page_text(as_lead.get("/admin/goodwill"))
    row = re.search(r'<tr id="gesture-discount-10">.*?</tr>', page, re.S).group(0)
    assert "10% off your next order" in row and "5.00 USD" in row and "500.00 USD" in row
    assert '<span class="unused-count">12</span>' in row and ">low<" not in row
    assert "0.00 USD" in row and "0% of budget" in row
    low = re.search(r'<tr id="gesture-free-shipping">.*?</tr>', page, re.S).group(0)
    assert '<span class="unused-count">2</span> <span class="badge warn">low</span>' in low
    call = re.search(r'<tr id="gesture-call-back">.*?</tr>', page, re.S).group(0)
    assert "no cap" in call and "unused-count" not in call
    # The credit has no webhook URL: it cannot be given, and the page says so.
    credit = re.search(r'<tr id="gesture-account-credit">.*?</tr>', page, re.S).group(0)
    assert "cannot be given" in credit and "no credit webhook" in credit


def test_spent_this_month_counts_issued_gestures_against_the_budget(as_lead, negative_answer):
    discount = gesture("discount-10")
    add_codes(discount, ["ONE", "TWO"], utcnow())
    db.session.commit()
    negative_answer(comment="meh")
    assert db.session.scalar(sa.select(Gesture.code)) == "ONE"
    page = page_text(as_lead.get("/admin/goodwill"))
    row = re.search(r'<tr id="gesture-discount-10">.*?</tr>', page, re.S).group(0)
    # 5.00 of a 500.00 budget spent: 1%; one code left, at or below the low level (10).
    assert "5.00 USD" in row and "1% of budget" in row
    assert '<span class="unused-count">1</span> <span class="badge warn">low</span>' in row


def test_the_recovery_cadence_and_its_templates_are_linked(as_lead, seeded):
    from followup.recovery import recovery_cadence

    cadence = recovery_cadence()
    page = page_text(as_lead.get("/admin/goodwill"))
    section = page.split('id="messages"')[1]
    assert f'href="/admin/cadences/{cadence.id}"' in section
    for step in cadence.steps:
        assert f'<a href="/admin/templates/{step.template_id}">{step.template.name}</a>' in section


# Gesture types


def test_a_lead_adds_a_gesture_type_with_money_in_units_and_a_spanish_offer(as_lead, seeded):
    reply = post(as_lead, NEW, GOOD)
    assert reply.status_code == 303
    made = gesture("gift-card")
    assert (made.name, made.kind, made.currency) == ("Gift card", "code", "USD")
    assert (made.value_cents, made.cost_cents, made.monthly_budget_cents) == (1500, 1250, 30000)
    assert made.offer_translations == {"es": "una tarjeta regalo de 15 $"}
    assert (made.low_codes, made.webhook_url, made.assignee, made.active) == (5, None, None, True)
    [entry] = audits("gesture_type")
    assert (entry.action, entry.entity_id, entry.actor) == (
        "create",
        str(made.id),
        "lead@example.com",
    )
    assert entry.after["cost_cents"] == 1250 and entry.before is None
    shown = page_text(as_lead.get(reply.headers["Location"]))
    # A code gesture with an empty pool cannot be given yet: the lead is told.
    assert "no unused codes in the pool" in shown and "next rule that matches" in shown
    assert 'value="12.50"' in shown and 'value="una tarjeta regalo de 15 $"' in shown


def test_editing_keeps_the_key_and_audits_only_what_changed(as_lead, seeded):
    discount = gesture("discount-10")
    path = f"/admin/goodwill/{discount.id}"
    form = {**GOOD, "key": "hijacked", "name": "10% discount", "offer": "10% off your next order",
            "offer_es": "un 10 % de descuento", "value": "0", "cost": "5", "monthly_budget": "",
            "low_codes": "10"}  # fmt: skip
    reply = post(as_lead, path, form)
    assert reply.status_code == 303
    changed = gesture("discount-10")
    assert changed.monthly_budget_cents is None and gesture("hijacked") is None
    offers = OFFER_TRANSLATIONS["discount-10"]  # the others, not sent, are kept
    assert changed.offer_translations == {**offers, "es": "un 10 % de descuento"}
    [entry] = audits("gesture_type")
    assert entry.action == "update"
    assert entry.before == {"monthly_budget_cents": 50000, "offer_translations": offers}
    assert entry.after == {
        "monthly_budget_cents": None,
        "offer_translations": {**offers, "es": "un 10 % de descuento"},
    }
    assert "no cap" in page_text(as_lead.get("/admin/goodwill"))


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"key": "Gift Card"}, "key", "lower-case letters, digits, - and _ only"),
        ({"key": "discount-10"}, "key", "exists already"),
        ({"key": ""}, "key", "Enter a key"),
        ({"name": "   "}, "name", "Enter a name"),
        ({"name": "x" * 201}, "name", "Field cannot be longer than 200 characters."),
        ({"value": "ten"}, "value", "Enter an amount in numbers"),
        ({"cost": "-5"}, "cost", "Enter an amount of 0 or more"),
        ({"cost": "1.234"}, "cost", "at most 2 decimal places"),
        ({"cost": "  "}, "cost", "Enter a cost"),
        ({"cost": "1e5"}, "cost", "Enter an amount in numbers"),
        ({"monthly_budget": "99999999999999"}, "monthly_budget", "Enter an amount in numbers"),
        ({"monthly_budget": "1000000.01"}, "monthly_budget", "at most 1000000.00"),
        ({"currency": "US"}, "currency", "three-letter currency code"),
        ({"low_codes": "many"}, "low_codes", "Not a valid integer value."),
        ({"low_codes": "-1"}, "low_codes", "Number must be between 0 and 1000000."),
        ({"due_hours": "99999999999999999999"}, "due_hours", "Number must be between 1 and 8760."),
        ({"kind": "bitcoin"}, "kind", "Not a valid choice."),
        ({"webhook_url": "https://x.example/credit"}, "webhook_url", "Only a credit"),
        ({"assignee": "sam@example.com"}, "assignee", "Only a task has an assignee"),
        ({"kind": "credit", "value": "0"}, "value", "what the credit is worth"),
        ({"kind": "credit", "webhook_url": "javascript:alert(1)"}, "webhook_url",
         "starting with https://"),
        ({"kind": "credit", "webhook_url": "https://" + "a" * 500}, "webhook_url",
         "longer than 500"),
        ({"offer_es": "x" * 201}, "offer_es", "longer than 200"),
    ],
)  # fmt: skip
def test_bad_gesture_types_are_refused_with_the_fields_message(
    as_lead, seeded, changes, field, message
):
    before = count(GestureType)
    reply = post(as_lead, NEW, {**GOOD, **changes})
    assert reply.status_code == 422
    page = page_text(reply)
    assert f'href="#{field}"' in page and message in page
    assert f'id="{field}-error"' in page
    assert count(GestureType) == before and audits("gesture_type") == []


def test_a_credit_without_a_webhook_is_saved_with_a_warning(as_lead, seeded):
    form = {**GOOD, "key": "store-credit", "kind": "credit", "value": "10"}
    reply = post(as_lead, NEW, form, follow_redirects=True)
    assert reply.status_code == 200
    page = page_text(reply)
    assert "cannot be given now (no credit webhook" in page and "pass over it" in page
    assert gesture("store-credit").value_cents == 1000
    fixed = {**form, "webhook_url": "https://billing.example.com/credits"}
    post(as_lead, f"/admin/goodwill/{gesture('store-credit').id}", fixed)
    assert gesture("store-credit").webhook_url == "https://billing.example.com/credits"


def test_script_tags_are_stored_as_text_and_shown_escaped(as_lead, seeded):
    script = "<script>alert('x')</script>"
    form = {**GOOD, "name": script, "offer": script, "offer_es": script}
    assert post(as_lead, NEW, form).status_code == 303
    assert gesture("gift-card").name == script
    for path in ("/admin/goodwill", f"/admin/goodwill/{gesture('gift-card').id}"):
        page = page_text(as_lead.get(path))
        assert script not in page and "&lt;script&gt;alert(" in page


def test_control_characters_are_dropped(as_lead, seeded):
    assert post(as_lead, NEW, {**GOOD, "name": "Gift\x00 card\x07"}).status_code == 303
    assert gesture("gift-card").name == "Gift card"


def test_a_forged_csrf_token_is_a_400_and_stores_nothing(as_lead, seeded):
    before = count(GestureType)
    reply = as_lead.post(NEW, data={**GOOD, "csrf_token": "forged"})
    assert reply.status_code == 400
    codes = as_lead.post(
        f"/admin/goodwill/{gesture('discount-10').id}/codes",
        data={"csrf_token": "forged", "codes": (_file(b"A1\nA2\n"), "codes.csv")},
    )
    assert codes.status_code == 400
    rule = rules()[0]
    rule_id = db.session.scalar(sa.select(RecoveryRule.id).where(RecoveryRule.position == rule[0]))
    moved = as_lead.post(f"/admin/goodwill/rules/{rule_id}/move/down")
    assert moved.status_code == 400
    assert count(GestureType) == before and count(GoodwillCode) == 0 and rules()[0] == rule
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0


def test_unknown_ids_are_404(as_lead, seeded):
    for path in ("/admin/goodwill/999", "/admin/goodwill/99999999999999999999999",
                 "/admin/goodwill/rules/999", "/admin/goodwill/rules/abc"):  # fmt: skip
        assert as_lead.get(path).status_code == 404
    token = csrf_token(as_lead, "/admin/goodwill/new")
    for path in ("/admin/goodwill/999", "/admin/goodwill/999/codes",
                 "/admin/goodwill/rules/999", "/admin/goodwill/rules/999/delete",
                 "/admin/goodwill/rules/999/move/up", "/admin/goodwill/rules/1/move/sideways",
                 "/admin/goodwill/rules/99999999999999999999/delete"):  # fmt: skip
        assert as_lead.post(path, data={"csrf_token": token}).status_code == 404, path


def test_managers_read_but_every_change_is_403(as_manager, seeded):
    discount = gesture("discount-10")
    rule_id = db.session.scalar(sa.select(RecoveryRule.id).limit(1))
    listing = page_text(as_manager.get("/admin/goodwill"))
    assert "Gesture" in listing and "Add a gesture type" not in listing and "Move up" not in listing
    edit = page_text(as_manager.get(f"/admin/goodwill/{discount.id}"))
    assert "<fieldset disabled>" in edit and ">Save<" not in edit and "Upload codes" not in edit
    rule_page = page_text(as_manager.get(f"/admin/goodwill/rules/{rule_id}"))
    assert "<fieldset disabled>" in rule_page and "Delete this rule" not in rule_page
    token = csrf_token(as_manager, "/admin/goodwill/new")
    for path, data in [
        (NEW, GOOD),
        (f"/admin/goodwill/{discount.id}", GOOD),
        (f"/admin/goodwill/{discount.id}/codes", {"codes": (_file(b"A1\n"), "c.csv")}),
        ("/admin/goodwill/rules/new", {"name": "Sneaky"}),
        (f"/admin/goodwill/rules/{rule_id}", {"name": "Sneaky"}),
        (f"/admin/goodwill/rules/{rule_id}/delete", {}),
        (f"/admin/goodwill/rules/{rule_id}/move/down", {}),
    ]:
        reply = as_manager.post(path, data={"csrf_token": token, **data})
        assert reply.status_code == 403, path
    assert count(GoodwillCode) == 0 and gesture("gift-card") is None
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0


# Code pools


def _file(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def upload(client, gesture_type: GestureType, data: bytes, name: str = "codes.csv"):
    """Post the file as the page's form does (encoded in memory: the test client's own
    encoding of a large body leaves a temporary file open)."""
    path = f"/admin/goodwill/{gesture_type.id}"
    codes = FileStorage(_file(data), name, content_type="text/csv")
    fields = {"csrf_token": csrf_token(client, path), "codes": codes}
    boundary, body = encode_multipart(fields)
    return client.post(f"{path}/codes", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")  # fmt: skip


def test_uploading_codes_counts_what_was_added_and_what_was_there(as_lead, seeded):
    discount = gesture("discount-10")
    add_codes(discount, ["OLD-1"], utcnow())
    db.session.commit()
    reply = upload(as_lead, discount, "\ufeffcode\nNEW-1\nNEW-2\nOLD-1\n\nNEW-2\n".encode())
    assert reply.status_code == 303
    page = page_text(as_lead.get(reply.headers["Location"]))
    assert "10% discount codes: 2 added, 1 already there. 3 unused now." in page
    assert '<strong class="unused-count">3</strong> unused codes' in page
    assert sorted(db.session.scalars(sa.select(GoodwillCode.code))) == ["NEW-1", "NEW-2", "OLD-1"]
    [entry] = audits("gesture_type")
    assert (entry.action, entry.after) == ("upload", {"added": 2, "skipped": 1, "unused": 3})
    assert "NEW-1" not in str(entry.after)  # the codes themselves stay out of the log


@pytest.mark.parametrize(
    "data, message",
    [
        ("café\n".encode("latin-1"), "must be UTF-8 text"),
        (b"code\n\n  \n", "holds no codes"),
        (b"", "holds no codes"),
        (b"OK-1\n" + b"X" * 101 + b"\n", "row 2: a code is at most 100 characters"),
        (b"OK-1\nBAD\x01CODE\n", "row 2: the code holds a control character"),
        (b"C" * (5 * 1024 * 1024 + 1), "too big: at most 5 MB"),
    ],
)
def test_a_bad_code_file_is_a_422_and_stores_nothing(as_lead, seeded, data, message):
    reply = upload(as_lead, gesture("discount-10"), data)
    assert reply.status_code == 422
    page = page_text(reply)
    assert message in page and 'href="#codes"' in page
    assert count(GoodwillCode) == 0 and audits("gesture_type") == []


def test_a_body_far_over_the_upload_limit_is_a_413_and_stores_nothing(as_lead, seeded):
    reply = upload(as_lead, gesture("discount-10"), b"C\n" * (5 * 1024 * 1024))
    assert reply.status_code == 413 and "too large" in page_text(reply)
    assert count(GoodwillCode) == 0 and audits("gesture_type") == []


def test_more_codes_than_one_upload_takes_are_refused(as_lead, seeded):
    data = "".join(f"C{n}\n" for n in range(50_001)).encode()
    reply = upload(as_lead, gesture("discount-10"), data)
    assert reply.status_code == 422 and "At most 50,000 codes per upload" in page_text(reply)
    assert count(GoodwillCode) == 0


def test_only_a_code_gesture_takes_codes_and_a_file_is_needed(as_lead, seeded):
    reply = upload(as_lead, gesture("call-back"), b"A1\n")
    assert reply.status_code == 422 and "gives no codes: it is a task" in page_text(reply)
    discount = gesture("discount-10")
    path = f"/admin/goodwill/{discount.id}"
    missing = post(as_lead, f"{path}/codes", {}, form_page=path)
    assert missing.status_code == 422 and "Choose a CSV file of codes" in page_text(missing)
    assert count(GoodwillCode) == 0


# Spanish offers in the messages


def test_a_spanish_customer_s_apology_names_the_translated_offer(app, as_lead, seeded):
    discount = gesture("discount-10")
    path = f"/admin/goodwill/{discount.id}"
    form = {**GOOD, "name": "10% discount", "offer": "10% off your next order",
            "offer_es": "un 10 % de descuento en tu próximo pedido", "value": "0", "cost": "5",
            "monthly_budget": "500", "low_codes": "10"}  # fmt: skip
    assert post(as_lead, path, form).status_code == 303
    assert upload(as_lead, discount, b"SORRY-1\n").status_code == 303
    customer = {**EMAIL_CASE["customer"], "locale": "es"}
    close(as_lead, seeded["auth"], {**EMAIL_CASE, "customer": customer})
    sweep_and_dispatch(at=later(hours=25))
    token = survey_token(app, "ana@example.com")
    assert answer_on_page(as_lead, token, 1, comment="Llegó tarde").status_code == 303
    sweep_and_dispatch(at=later(hours=25, minutes=31))
    apology = sent_messages(app)[-1]["text"]
    assert (
        "te ofrecemos un 10 % de descuento en tu próximo pedido: usa el código SORRY-1" in apology
    )
    assert "10% off" not in apology


# Recovery rules


def rule_form(**changes) -> dict:
    return {"name": "Gift card for gold", "reasons": ["not_solved"],
            "priorities": ["high", "urgent"], "customer_tags": "Gold, vip, gold",
            "asked": "refund\n money back \n\n",
            "gesture_type": str(gesture("call-back").id), "active": "y", **changes}  # fmt: skip


def test_a_rule_is_added_last_and_described_in_plain_words(as_lead, seeded):
    before = rules()
    reply = post(as_lead, "/admin/goodwill/rules/new", rule_form())
    assert reply.status_code == 303
    added = db.session.scalar(
        sa.select(RecoveryRule).where(RecoveryRule.name == "Gift card for gold")
    )
    assert added.position == before[-1][0] + 1
    assert (added.reasons, added.priorities) == (["not_solved"], ["high", "urgent"])
    assert (added.customer_tags, added.asked) == (["Gold", "vip", "gold"], ["refund", "money back"])
    assert added.gesture_type_id == gesture("call-back").id and added.active
    [entry] = audits("recovery_rule")
    assert entry.action == "create" and entry.after["customer_tags"] == ["Gold", "vip", "gold"]
    page = page_text(as_lead.get("/admin/goodwill"))
    assert (
        "When the reason is &#39;My problem isn&#39;t solved&#39; and the case is "
        "&#39;high&#39; or &#39;urgent&#39; and the customer is tagged &#39;Gold&#39; or "
        "&#39;vip&#39; or &#39;gold&#39; and they ask for &#39;refund&#39; or "
        "&#39;money back&#39; → Call-back"
    ) in page
    assert "Always → 10% discount" in page  # the seeded catch-all rule


def test_a_rule_without_a_gesture_apologises_only(as_lead, seeded):
    form = rule_form(name="Just say sorry", reasons=[], priorities=[], customer_tags="", asked="",
                     gesture_type="")  # fmt: skip
    reply = post(as_lead, "/admin/goodwill/rules/new", form)
    assert reply.status_code == 303
    made = db.session.scalar(sa.select(RecoveryRule).where(RecoveryRule.name == "Just say sorry"))
    assert made.gesture_type_id is None and made.reasons == [] and made.customer_tags == []
    assert "Always → apologise and check in only" in page_text(as_lead.get("/admin/goodwill"))


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"name": ""}, "name", "Enter a name"),
        ({"reasons": ["made_up"]}, "reasons", "not a valid choice"),
        ({"priorities": ["critical"]}, "priorities", "not a valid choice"),
        ({"gesture_type": "99999"}, "gesture_type", "Not a valid choice."),
        ({"customer_tags": "a" * 101}, "customer_tags", "at most 100 characters each"),
        ({"asked": "\n".join(f"w{n}" for n in range(51))}, "asked", "Enter at most 50"),
    ],
)
def test_bad_rules_are_refused_and_store_nothing(as_lead, seeded, changes, field, message):
    before = rules()
    reply = post(as_lead, "/admin/goodwill/rules/new", rule_form(**changes))
    assert reply.status_code == 422
    page = page_text(reply)
    assert f'href="#{field}"' in page and message in page
    assert rules() == before and audits("recovery_rule") == []


def test_editing_and_deleting_a_rule_is_audited(as_lead, seeded):
    rule = db.session.scalar(sa.select(RecoveryRule).where(RecoveryRule.name.like("Gold%")))
    path = f"/admin/goodwill/rules/{rule.id}"
    shown = page_text(as_lead.get(path))
    assert 'value="gold"' in shown and "selected" in shown
    reply = post(as_lead, path, rule_form(name="Gold: a note", reasons=[], priorities=[],
                                          customer_tags="gold", asked="", gesture_type=str(
                                              gesture("handwritten-note").id)))  # fmt: skip
    assert reply.status_code == 303
    db.session.expire_all()
    assert rule.name == "Gold: a note" and rule.gesture_type_id == gesture("handwritten-note").id
    post(as_lead, f"{path}/delete", {}, form_page=path)
    assert db.session.get(RecoveryRule, rule.id) is None
    update, delete = audits("recovery_rule")
    assert update.action == "update" and update.before["name"] == "Gold customer: a call-back"
    assert "position" not in update.after
    assert delete.action == "delete" and delete.before["name"] == "Gold: a note"


def test_moving_rules_swaps_their_positions_in_one_transaction(as_lead, seeded):
    before = rules()
    second = db.session.scalar(sa.select(RecoveryRule).where(RecoveryRule.position == before[1][0]))
    up = post(
        as_lead, f"/admin/goodwill/rules/{second.id}/move/up", {}, form_page="/admin/goodwill"
    )
    assert up.status_code == 303
    after = rules()
    assert [name for _, name in after] == [before[1][1], before[0][1], *[n for _, n in before[2:]]]
    assert [position for position, _ in after] == [position for position, _ in before]
    # Already first: nothing moves, and the lead is told.
    again = post(as_lead, f"/admin/goodwill/rules/{second.id}/move/up", {},
                 form_page="/admin/goodwill", follow_redirects=True)  # fmt: skip
    assert "is already first" in page_text(again) and rules() == after
    last = db.session.scalar(sa.select(RecoveryRule).where(RecoveryRule.position == after[-1][0]))
    post(as_lead, f"/admin/goodwill/rules/{last.id}/move/down", {}, form_page="/admin/goodwill")
    assert rules() == after
    down = post(as_lead, f"/admin/goodwill/rules/{second.id}/move/down", {},
                form_page="/admin/goodwill")  # fmt: skip
    assert down.status_code == 303 and rules() == before
    moves = audits("recovery_rule")
    assert [m.action for m in moves] == ["move", "move"]
    assert (
        moves[0].before["position"] == before[1][0] and moves[0].after["position"] == before[0][0]
    )


def test_a_move_across_a_gap_left_by_a_deleted_rule_keeps_positions_unique(as_lead, seeded):
    first, second, third = db.session.scalars(
        sa.select(RecoveryRule).order_by(RecoveryRule.position).limit(3)
    ).all()
    places = (first.position, third.position)
    post(as_lead, f"/admin/goodwill/rules/{second.id}/delete", {}, "/admin/goodwill")
    reply = post(as_lead, f"/admin/goodwill/rules/{third.id}/move/up", {}, "/admin/goodwill")
    assert reply.status_code == 303
    db.session.expire_all()
    assert (third.position, first.position) == places
    assert min(position for position, _ in rules()) >= 0  # nothing left parked below zero
    move = audits("recovery_rule")[-1]
    assert move.summary == f"{third.name} moved up, swapping places with {first.name}"
