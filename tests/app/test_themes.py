"""Comment themes (followup.themes) on a generated corpus with known problems in English and
Spanish: embedded in batches, the first themes made at once, recovered and named by telling
words; new and changed comments placed incrementally; a lead's rename, merge and split kept
across rebuilds; an erased comment's embedding gone. The model embeds each distinct text once
per module (tests.support.comment_corpus.MemoEmbed)."""

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import embeddings, privacy, themes
from followup.extensions import db
from followup.models import AuditEntry, CommentEmbedding, Customer, Response, Theme
from followup.models.base import utcnow
from followup.setup import ensure_standard_setup
from tests.support.comment_corpus import (
    NOISE,
    MemoEmbed,
    add_answers,
    corpus,
    embed_all,
    telling_words,
)

PROBLEMS = ("delivery", "billing", "login", "agent", "slow")
NOW = utcnow()


@pytest.fixture(scope="module", autouse=True)
def memo_embed():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embeddings, "embed", MemoEmbed(embeddings.embed))
        yield


@pytest.fixture
def loaded(app):
    """The corpus answered a day ago and embedded by the job's loop (which makes the first
    themes at once): {response id: Comment}."""
    ensure_standard_setup()
    comments = corpus()
    texts = [c.text for c in comments]
    at = NOW - timedelta(days=1)
    by_sms = [c for n, c in enumerate(comments) if n % 10 == 0]  # SMS answers are themed too
    ids = add_answers([c.text for c in by_sms], at, channel="sms")
    ids += add_answers([t for n, t in enumerate(texts) if n % 10], at + timedelta(hours=1))
    db.session.commit()
    embed_all(NOW)
    by_email = [c for n, c in enumerate(comments) if n % 10]
    return dict(zip(ids, by_sms + by_email, strict=True))


def theme_of() -> dict[int, int | None]:
    return dict(db.session.execute(sa.select(CommentEmbedding.response_id,
                                             CommentEmbedding.theme_id)).all())  # fmt: skip


def problem_themes(loaded) -> dict[str, int]:
    """Each known problem's theme (where most of its comments are)."""
    placed = theme_of()
    return {p: Counter(placed[i] for i, c in loaded.items() if c.problem == p).most_common(1)[0][0]
            for p in PROBLEMS}  # fmt: skip


def ids_of(loaded, problem: str) -> list[int]:
    return [i for i, c in loaded.items() if c.problem == problem]


def test_known_problems_come_back_as_themes_in_both_languages(loaded):
    placed = theme_of()
    assert len(placed) == len(loaded)  # every comment embedded
    found = problem_themes(loaded)
    assert len(set(found.values())) == len(PROBLEMS) and None not in found.values()
    for problem, theme_id in found.items():
        mine = [i for i, c in loaded.items() if c.problem == problem]
        members = [i for i, t in placed.items() if t == theme_id]
        for language in ("en", "es"):  # each language of the problem mostly in its theme
            said = [i for i in mine if loaded[i].language == language]
            assert sum(placed[i] == theme_id for i in said) >= 0.8 * len(said)
        purity = sum(loaded[i].problem == problem for i in members) / len(members)
        assert purity >= 0.8
        theme = db.session.get(Theme, theme_id)
        assert theme.size == len(members) and theme.named_by is None
        assert set(theme.name.split(", ")) & telling_words(problem), theme.name
        assert len(theme.examples) == 3 and set(theme.examples) <= set(members)
    assert all(placed[i] not in found.values() for i, c in loaded.items() if c.problem == NOISE)
    texted = db.session.scalars(sa.select(Response.id).where(Response.channel == "sms")).all()
    known = [i for i in texted if loaded[i].problem in found]
    assert known and sum(placed[i] == found[loaded[i].problem] for i in known) >= 0.8 * len(known)


def test_rebuild_again_changes_nothing(loaded):
    before = theme_of()
    names = dict(db.session.execute(sa.select(Theme.id, Theme.name)).all())
    live = themes.rebuild(NOW)
    db.session.commit()
    assert theme_of() == before and live == len(themes.live_themes())
    assert dict(db.session.execute(sa.select(Theme.id, Theme.name)).all()) == names


def test_new_comments_join_their_theme_and_changed_ones_move(loaded):
    found = problem_themes(loaded)
    new = add_answers(["The courier lost my parcel and it arrived 6 days late.",
                       "Me cobraron el pedido dos veces y no me devuelven el dinero.",
                       "Do you sell gift cards for the garden centre?"], NOW)  # fmt: skip
    db.session.commit()
    assert embed_all(NOW) == 3
    placed = theme_of()
    assert [placed[i] for i in new] == [found["delivery"], found["billing"], None]
    assert embed_all(NOW) == 0  # nothing changed since
    older = db.session.get(CommentEmbedding, ids_of(loaded, "delivery")[0])
    older.model = "an-older-model"  # a new model embeds every comment again
    db.session.commit()
    assert embed_all(NOW) == 1 and older.model == embeddings.MODEL
    # A changed answer is embedded again; an emptied one loses its embedding.
    first, second = db.session.get(Response, new[0]), db.session.get(Response, new[1])
    first.comment = "The app keeps crashing when I log in with my password."
    first.updated_at = second.updated_at = NOW + timedelta(minutes=5)
    second.comment = ""
    db.session.commit()
    assert embed_all(NOW + timedelta(minutes=6)) == 2
    placed = theme_of()
    assert placed[new[0]] == found["login"] and new[1] not in placed
    sizes = Counter(t for t in placed.values() if t is not None)
    assert all(db.session.get(Theme, t).size == n for t, n in sizes.items())


def test_a_leads_rename_merge_and_split_stick_across_rebuilds(loaded):
    found = problem_themes(loaded)
    named = ("delivery", "slow", "agent", "billing")
    delivery, slow, agent, billing = (db.session.get(Theme, found[p]) for p in named)
    themes.rename(delivery, "  Courier   trouble ", "lead@example.com")
    themes.merge(slow, agent, "lead@example.com")
    parts = themes.split(billing, "lead@example.com")
    db.session.commit()
    assert delivery.name == "Courier trouble" and delivery.named_by == "lead@example.com"
    assert slow.merged_into_id == agent.id and slow.retired_at and agent.size == 40
    assert billing.retired_at and [p.split_from_id for p in parts] == [billing.id] * 2
    assert all(p.size for p in parts) and sum(p.size for p in parts) == 20
    split_of = {i: t for i, t in theme_of().items() if t in {p.id for p in parts}}
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["theme.rename", "theme.merge", "theme.split"]

    themes.rebuild(NOW + timedelta(days=1))
    db.session.commit()
    placed = theme_of()
    assert delivery.name == "Courier trouble" and delivery.retired_at is None
    slow_ids = [i for i, c in loaded.items() if c.problem == "slow"]
    assert sum(placed[i] == agent.id for i in slow_ids) >= 0.8 * len(slow_ids)
    assert slow.retired_at and agent.retired_at is None
    assert all(p.retired_at is None for p in parts) and billing.retired_at
    assert {i: placed[i] for i in split_of} == split_of  # each half kept its comments
    live = {t.id for t in themes.live_themes()}
    assert slow.id not in live and billing.id not in live and {p.id for p in parts} <= live


def test_lead_operations_refuse_what_makes_no_sense(loaded):
    found = problem_themes(loaded)
    one, other = db.session.get(Theme, found["login"]), db.session.get(Theme, found["agent"])
    for name in ("", "   ", "x" * 201):
        with pytest.raises(themes.ThemeError) as error:
            themes.rename(one, name, "lead@example.com")
        assert (error.value.status, error.value.field) == (422, "name")
    with pytest.raises(themes.ThemeError) as error:
        themes.merge(one, one, "lead@example.com")
    assert error.value.status == 409
    themes.merge(other, one, "lead@example.com")
    for operation in (lambda: themes.merge(one, other, "lead@example.com"),
                      lambda: themes.split(other, "lead@example.com"),
                      lambda: themes.rename(other, "Late", "lead@example.com")):  # fmt: skip
        with pytest.raises(themes.ThemeError) as error:
            operation()
        assert error.value.status == 409
    assert themes.rename(one, "<b>Login</b> crash", "lead@example.com").name == "<b>Login</b> crash"


def test_an_erased_customers_comments_leave_their_themes(loaded):
    found = problem_themes(loaded)
    texts = ["My parcel arrived 8 days late, the courier never called.",
             "El paquete llegó tarde y el repartidor no avisó."]  # fmt: skip
    ids = add_answers(texts, NOW)
    db.session.commit()
    embed_all(NOW)
    delivery = db.session.get(Theme, found["delivery"])
    delivery.examples = [ids[0], *delivery.examples[:2]]  # as if nearest the centroid
    db.session.commit()
    size = delivery.size
    customer = db.session.scalar(sa.select(Customer).order_by(Customer.id.desc()).limit(1))
    privacy.erase(customer, NOW, "admin@example.com")
    db.session.commit()
    placed = theme_of()
    assert not set(ids) & set(placed) and ids[0] not in delivery.examples
    assert delivery.size == size - 2
    assert embed_all(NOW + timedelta(hours=1)) == 0  # a redacted comment is not embedded again


def test_beyond_the_cap_older_comments_join_the_nearest_theme(app, loaded):
    """Only the newest THEMES_MAX_CLUSTERED are clustered; the older ones of the window are
    read a page at a time and join the nearest theme; those before the window are left."""
    app.config["THEMES_MAX_CLUSTERED"] = 70
    old = add_answers(["My package arrived 9 days late, the courier is useless."],
                      NOW - timedelta(days=200))  # fmt: skip
    db.session.commit()
    assert embed_all(NOW) == 0  # answered before the window: never embedded
    db.session.execute(sa.update(CommentEmbedding).values(theme_id=None))
    themes.rebuild(NOW)
    db.session.commit()
    placed = theme_of()
    assert old[0] not in placed
    for problem, theme_id in problem_themes(loaded).items():
        mine = [i for i, c in loaded.items() if c.problem == problem]
        assert sum(placed[i] == theme_id for i in mine) >= 0.9 * len(mine)
        assert db.session.get(Theme, theme_id).size == sum(t == theme_id for t in placed.values())


def test_a_fresh_deployment_gets_themes_from_its_first_batch(app, monkeypatch):
    """The first batch that leaves FIRST_REBUILD_AT comments waiting makes the first themes at
    once (rough, from 45 comments); the later batches join them without waiting for the
    night, and the nightly rebuild sorts them out."""
    monkeypatch.setattr(themes, "BATCH", 45)
    ensure_standard_setup()
    comments = corpus()
    ids = add_answers([c.text for c in comments], NOW - timedelta(days=1))
    db.session.commit()
    assert themes.embed_pending(NOW) == 45
    db.session.commit()
    first = {t.id for t in themes.live_themes()}
    assert first
    embed_all(NOW)
    assert {t.id for t in themes.live_themes()} == first  # no rebuild since
    loaded = dict(zip(ids, comments, strict=True))
    placed = theme_of()
    known = [i for i, c in loaded.items() if c.problem != NOISE]
    assert sum(placed[i] is not None for i in known) >= 0.9 * len(known)
    themes.rebuild(NOW + timedelta(hours=3))
    db.session.commit()
    placed = theme_of()
    found = problem_themes(loaded)
    assert len(set(found.values())) == len(PROBLEMS)
    for problem, theme_id in found.items():
        mine = [placed[i] for i, c in loaded.items() if c.problem == problem]
        assert mine.count(theme_id) >= 0.8 * len(mine)


def test_a_large_themes_split_fits_its_newest_comments_and_places_the_rest(app, loaded):
    app.config["THEMES_MAX_CLUSTERED"] = 12  # k-means on 12 of the 20, the 8 older join
    billing = db.session.get(Theme, problem_themes(loaded)["billing"])
    parts = themes.split(billing, "lead@example.com")
    db.session.commit()
    placed = theme_of()
    assert billing.id not in placed.values()
    assert sorted(p.size for p in parts) == sorted(
        sum(t == p.id for t in placed.values()) for p in parts
    )
    assert sum(p.size for p in parts) == 20 and all(p.size for p in parts)
