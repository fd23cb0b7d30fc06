"""Comment themes kept right over time (followup.themes, followup.theme_figures): names within
their column, a changed answer with the same comment left in its theme, a lead's named theme
back after a quiet spell, a merge followed into a split's parts, redacted and out-of-window
comments never embedded nor counted as waiting, a lead's change refused while the themes'
lock is held (PostgreSQL), a split without scikit-learn, the rising alert over rolling days,
the embedding job's time cap, an erasure's words gone from its theme. Vectors are set per
text (no model): each test places its comments where it wants them."""

import sys
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from followup import alert_rules, embeddings, privacy, theme_figures, themes
from followup.extensions import db
from followup.figures import Filters
from followup.models import (
    AlertRule,
    Case,
    CommentEmbedding,
    Customer,
    Response,
    Survey,
    Theme,
)
from followup.models.alert_rules import AlertRuleKind
from followup.models.base import moment, utcnow
from followup.models.themes import MAX_NAME
from tests.support.comment_corpus import add_answers, embed_all
from tests.support.console import csrf_token
from workers import jobs

NOW = utcnow()
VECTORS: dict[str, np.ndarray] = {}


def unit(*pairs: tuple[int, float]) -> np.ndarray:
    """A unit 512-vector with these (dimension, weight) entries."""
    vector = np.zeros(embeddings.DIMENSIONS, dtype=np.float32)
    for at, weight in pairs:
        vector[at] = weight
    return vector / np.linalg.norm(vector)


def fake_embed(texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, embeddings.DIMENSIONS), dtype=np.float32)
    return np.stack([VECTORS.get(t, unit((511, 1.0))) for t in texts])


@pytest.fixture(autouse=True)
def fake(monkeypatch):
    VECTORS.clear()
    monkeypatch.setattr(embeddings, "embed", fake_embed)


def near(texts: list[str], axis: int) -> list[str]:
    """These texts' vectors close together around `axis` (each a little apart)."""
    for n, text in enumerate(texts):
        VECTORS[text] = unit((axis, 1.0), (100 + axis * 10 + n, 0.05))
    return texts


def new_theme(name: str, axis: int, **columns) -> Theme:
    row = Theme(name=name, words=[], examples=[], centroid=embeddings.to_bytes(unit((axis, 1.0))),
                size=0, **columns)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


def test_a_theme_named_by_very_long_words_fits_its_column(seeded):
    long = " ".join(["a" * 150] * 6 + ["b" * 150] * 6)
    add_answers(near([long] + [f"courier late parcel {n}" for n in range(6)], 0),
                NOW - timedelta(days=1))  # fmt: skip
    db.session.commit()
    embed_all(NOW)
    themes.rebuild(NOW)
    db.session.commit()  # PostgreSQL refused a name over the column's size here
    [made] = themes.live_themes()
    assert len(made.name) <= MAX_NAME and all(len(word) <= 30 for word in made.words)
    assert "courier" in made.words


def test_a_changed_answer_with_the_same_comment_stays_where_it_is(seeded):
    placed = new_theme("Courier", 0)
    [same, changed] = add_answers(["the courier was late", "billing"], NOW - timedelta(days=1))
    VECTORS["the courier was late"] = unit((0, 1.0))
    VECTORS["billing"] = unit((0, 1.0))
    db.session.commit()
    assert embed_all(NOW) == 2
    # A rebuild left it in no theme (its cluster too small), though a centroid is near: so
    # it stays when only the answer's score changes.
    db.session.get(CommentEmbedding, same).theme_id = None
    db.session.get(Response, same).updated_at = NOW + timedelta(minutes=1)  # score changed
    answer = db.session.get(Response, changed)
    answer.comment, answer.updated_at = "courier again", NOW + timedelta(minutes=1)
    VECTORS["courier again"] = unit((0, 1.0), (1, 0.1))
    db.session.commit()
    assert embed_all(NOW + timedelta(minutes=2)) == 2
    kept, moved = db.session.get(CommentEmbedding, same), db.session.get(CommentEmbedding, changed)
    assert kept.theme_id is None and kept.embedded_at >= NOW + timedelta(minutes=1)
    assert moved.theme_id == placed.id and moved.text_hash == themes.text_hash("courier again")
    assert embed_all(NOW + timedelta(minutes=3)) == 0


def test_a_named_theme_comes_back_after_a_quiet_spell(seeded):
    named = new_theme("Courier trouble", 0, named_by="lead@example.com")
    db.session.commit()
    themes.rebuild(NOW)  # nothing in the window: retired
    db.session.commit()
    assert named.retired_at is not None
    add_answers(near([f"courier {n}" for n in range(6)], 0), NOW)
    db.session.commit()
    embed_all(NOW)
    themes.rebuild(NOW + timedelta(days=1))
    db.session.commit()
    assert [(t.id, t.name) for t in themes.live_themes()] == [(named.id, "Courier trouble")]


def test_a_cluster_of_a_theme_merged_into_a_split_one_goes_to_its_parts(seeded):
    target = new_theme("B", 3, retired_at=NOW)
    merged = new_theme("A", 0, merged_into_id=target.id, retired_at=NOW)
    parts = [new_theme("B1", 3, split_from_id=target.id),
             new_theme("B2", 4, split_from_id=target.id)]  # fmt: skip
    add_answers(near([f"like A {n}" for n in range(6)], 0), NOW - timedelta(days=1))
    db.session.commit()
    embed_all(NOW)
    themes.rebuild(NOW)
    db.session.commit()
    placed = set(db.session.scalars(sa.select(CommentEmbedding.theme_id)))
    assert placed and placed <= {p.id for p in parts}, (placed, merged.id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Theme)) == 4  # none new


def test_redacted_and_old_comments_are_neither_embedded_nor_waiting(seeded):
    [erased] = add_answers(["I want a refund, call me at 555"], NOW - timedelta(days=1))
    [old] = add_answers(["old comment"], NOW - timedelta(days=300))
    [blank] = add_answers(["   "], NOW - timedelta(days=1))
    db.session.commit()
    assert embed_all(NOW) == 1  # not the old one nor the blank one
    customer = db.session.scalar(sa.select(Customer).join(Case).where(
        Case.id == db.session.get(Response, erased).case_id))  # fmt: skip
    db.session.get(Survey, db.session.get(Response, erased).survey_id).negative_keywords = [
        "refund"
    ]
    privacy.erase(customer, NOW, "admin@example.com")
    db.session.commit()
    assert db.session.get(Response, erased).comment == "refund"  # the kept keyword
    assert db.session.get(CommentEmbedding, erased) is None
    db.session.get(Response, erased).updated_at = NOW + timedelta(hours=1)  # changed again
    db.session.commit()
    assert embed_all(NOW + timedelta(hours=2)) == 0
    assert db.session.get(CommentEmbedding, erased) is None
    today = NOW.date()
    recent = theme_figures.figures(Filters(start=today - timedelta(days=6), end=today))
    assert recent.waiting == 0
    long_ago = (NOW - timedelta(days=300)).date()
    before = theme_figures.figures(Filters(start=long_ago - timedelta(1), end=long_ago))
    assert before.waiting == 0 and before.window_start > long_ago
    assert {old, blank}.isdisjoint(db.session.scalars(sa.select(CommentEmbedding.response_id)))


def test_a_leads_change_while_the_themes_are_rebuilt_is_refused_for_now(as_lead):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the themes' lock is PostgreSQL's (SQLite has one writer)")
    one, other = new_theme("One", 0), new_theme("Other", 1)
    db.session.commit()
    url = f"/dashboard/themes/{one.id}"
    token = csrf_token(as_lead, url)
    with db.engine.connect() as rebuilding:
        rebuilding.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": themes.LOCK_KEY})  # fmt: skip
        for change in (lambda: themes.rename(one, "Late", "lead@example.com"),
                       lambda: themes.merge(one, other, "lead@example.com"),
                       lambda: themes.split(one, "lead@example.com")):  # fmt: skip
            with pytest.raises(themes.ThemeError) as error:
                change()
            assert (error.value.status, error.value.message) == (409, themes.BUSY)
            db.session.rollback()
        page = as_lead.post(f"{url}/rename", data={"csrf_token": token, "name": "Late"})
        assert page.status_code == 409 and "try again shortly" in page.get_data(as_text=True)
        rebuilding.rollback()
    assert themes.rename(one, "Late", "lead@example.com").name == "Late"


def test_a_split_needs_no_scikit_learn(seeded, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.cluster", None)  # importing it fails
    whole = new_theme("Both", 0)
    ids = add_answers(near([f"crash {n}" for n in range(4)], 0)
                      + near([f"charge {n}" for n in range(3)], 1), NOW)  # fmt: skip
    db.session.execute(sa.insert(CommentEmbedding), [
        dict(response_id=i, theme_id=whole.id, model=embeddings.MODEL, embedded_at=NOW,
             vector=embeddings.to_bytes(VECTORS[db.session.get(Response, i).comment]))
        for i in ids])  # fmt: skip
    parts = themes.split(whole, "lead@example.com")
    db.session.commit()
    assert [p.size for p in parts] == [4, 3] and "crash" in parts[0].words
    assert db.session.scalar(sa.select(sa.func.count()).where(
        CommentEmbedding.theme_id == whole.id)) == 0  # fmt: skip


def test_the_rising_alert_judges_the_last_7_days_to_now(seeded):
    """Five comments 7 days ago at noon: in the 7 days to 01:00 today, though not in the 7
    calendar days to today (a day under way is not a whole day)."""
    rising = new_theme("Courier", 0)
    today = moment(NOW.date())
    ids = add_answers([f"courier {n}" for n in range(5)], today - timedelta(days=7, hours=-12))
    db.session.execute(sa.insert(CommentEmbedding), [
        dict(response_id=i, theme_id=rising.id, model=embeddings.MODEL, embedded_at=NOW,
             vector=embeddings.to_bytes(unit((0, 1.0)))) for i in ids])  # fmt: skip
    rule = AlertRule(name="Rising", kind=AlertRuleKind.THEME_RISING, threshold=100,
                     min_answers=5, created_by="manager@example.com")  # fmt: skip
    db.session.add(rule)
    db.session.commit()
    [reading] = alert_rules.READERS[AlertRuleKind.THEME_RISING](rule, today + timedelta(hours=1))
    assert reading.breaching and "5 comments" in reading.title


def test_an_embedding_run_stops_starting_batches_after_its_time(seeded, monkeypatch):
    monkeypatch.setattr(themes, "BATCH", 2)
    monkeypatch.setattr(jobs, "utcnow", lambda: NOW)
    add_answers(["one", "two", "three"], NOW - timedelta(days=1))
    db.session.commit()
    assert jobs.embed_comments(seconds=0) == 2  # one batch: the next run goes on
    assert jobs.embed_comments() == 1


def test_an_erased_comments_words_leave_its_theme_at_once(seeded):
    texts = near(["courier late zanzibar", *[f"courier late parcel {n}" for n in range(5)]], 0)
    ids = add_answers(texts[:1], NOW - timedelta(days=1))  # a customer of its own
    add_answers(texts[1:], NOW - timedelta(days=1))
    db.session.commit()
    embed_all(NOW)
    themes.rebuild(NOW)
    db.session.commit()
    [made] = themes.live_themes()
    assert "zanzibar" in made.words
    case = db.session.get(Case, db.session.get(Response, ids[0]).case_id)
    privacy.erase(case.customer, NOW, "admin@example.com")
    db.session.commit()
    assert "zanzibar" not in made.words and "zanzibar" not in made.name
    assert "courier" in made.words


def test_the_page_says_comments_before_the_window_are_not_grouped(as_manager):
    old = (NOW - timedelta(days=300)).date()
    page = as_manager.get(f"/dashboard/themes?from={old}&to={old + timedelta(days=6)}")
    assert "are not grouped into themes" in page.get_data(as_text=True)
    recent = as_manager.get("/dashboard/themes?period=7d").get_data(as_text=True)
    assert "are not grouped into themes" not in recent and "recovery check-ins" in recent
