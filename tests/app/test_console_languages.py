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
    response = as_lead.post("/admin/cadences/new", data=data)
    assert response.status_code == 422
    assert "Name: ein anderer Ablauf hat diesen Namen" in response.get_data(as_text=True)
    page = as_lead.get("/admin/goodwill").get_data(as_text=True)
    assert "<h1>Kulanz</h1>" in page and "Immer → 10% discount" in page
    assert "Angebot auf Spanisch" in as_lead.get("/admin/goodwill/new").get_data(as_text=True)
