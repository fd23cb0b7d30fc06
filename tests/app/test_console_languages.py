"""The console speaks the user's language: their own setting (User.language), else the
browser's Accept-Language; English stays the source text. One check per console area."""

from followup.extensions import db


def test_dashboard_reads_in_the_users_language_else_the_browsers(as_manager, users):
    users["manager"].language = "fr"
    db.session.commit()
    page = as_manager.get("/dashboard/").get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert "<h1>Tableau de bord</h1>" in page and "<h2>Chiffres clés</h2>" in page
    # A bad filter's page is French too; its JSON stays English for the machines reading it.
    page = as_manager.get("/dashboard/?period=2y")
    assert page.status_code == 422 and "Filtre non compris" in page.get_data(as_text=True)
    body = as_manager.get("/dashboard/figures.json?period=2y").get_json()
    assert body["message"].startswith("use one of 7d")

    users["manager"].language = None
    db.session.commit()
    page = as_manager.get("/dashboard/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert "<h2>Kennzahlen</h2>" in page.get_data(as_text=True)
    assert "<h2>Headline figures</h2>" in as_manager.get("/dashboard/").get_data(as_text=True)


def test_the_editors_read_in_the_users_language(as_lead, users, seeded):
    """The cadence, goodwill, survey and template editors: their pages and the problems a
    lead reads in the editor, in the lead's language."""
    from tests.support.cadences import cadence_form

    users["lead"].language = "de"
    db.session.commit()
    page = as_lead.get("/admin/cadences").get_data(as_text=True)
    assert "<h1>Abläufe</h1>" in page and "nach 3 Tagen, über E-Mail" in page
    data = {**cadence_form(as_lead, "/admin/cadences/new"), "name": "Standard"}
    response = as_lead.post("/admin/cadences/new", data={**data, "steps-0-template": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Name: ein anderer Ablauf hat diesen Namen" in page
    assert "Schritt 1 ('thank-you'): wählen Sie eine Vorlage" in page
    page = as_lead.get("/admin/goodwill").get_data(as_text=True)
    assert "<h1>Kulanz</h1>" in page and "Immer → 10% discount" in page
    assert "Angebot auf Spanisch" in as_lead.get("/admin/goodwill/new").get_data(as_text=True)
    assert "<h1>Umfragen</h1>" in as_lead.get("/admin/surveys").get_data(as_text=True)
    page = as_lead.get("/admin/templates/new").get_data(as_text=True)
    assert "<h1>Neue Vorlage</h1>" in page and "SMS-Text (Spanisch)" in page


def test_the_admin_pages_read_in_the_users_language(app, as_admin, users):
    """Sign-in by the browser's language; the users and exclusions pages, a select's labels,
    a form's error and a flash in the admin's own; the audit log's entry stays English."""
    from followup.models import AuditEntry
    from tests.support.console import csrf_token

    page = app.test_client().get("/admin/sign-in", headers={"Accept-Language": "pt-BR"})
    assert "<h1>Entre no console</h1>" in page.get_data(as_text=True)

    users["admin"].language = "fr"
    db.session.commit()
    assert "<h1>Utilisateurs</h1>" in as_admin.get("/admin/users").get_data(as_text=True)
    page = as_admin.get("/admin/exclusions").get_data(as_text=True)
    assert '<option value="customer_tag">Étiquette client</option>' in page
    token = csrf_token(as_admin, "/admin/exclusions")
    data = {"csrf_token": token, "field": "customer_tag", "value": "beta<b>"}
    bad = as_admin.post("/admin/exclusions", data=data)
    assert bad.status_code == 422
    assert "Étiquette : Utilisez uniquement des lettres" in bad.get_data(as_text=True)
    page = as_admin.post("/admin/exclusions", data={**data, "value": "beta"}, follow_redirects=True)
    assert "étiquette « beta » ne sont désormais plus sondés" in page.get_data(as_text=True)
    entry = db.session.query(AuditEntry).filter_by(entity="survey_exclusion").one()
    assert entry.summary == "customer tag 'beta' not surveyed"
