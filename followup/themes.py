"""Comment themes: every comment embedded in the workers, in batches (followup.embeddings),
grouped into themes incrementally as comments arrive and rebuilt nightly; each theme named by
its most telling words and three example comments. A lead's rename, merge or split sticks
across rebuilds.

- `embed_pending` (the embed_comments job, every minute): the comments not embedded yet, or
  whose text changed since (an answer changed with the same comment only has its
  `embedded_at` moved: `text_hash`), embedded in one call; never a redacted case's. Each
  goes to the nearest live theme when it is close enough (ASSIGN_COSINE), else stays
  unassigned until the next rebuild. A fresh deployment
  gets its first themes as soon as FIRST_REBUILD_AT comments wait.
- `rebuild` (nightly): the window's comments (THEMES_DAYS, the newest THEMES_MAX_CLUSTERED
  clustered, the rest assigned to the nearest theme) clustered again from scratch by
  agglomerative clustering (cosine distance, average linkage, cut at an average similarity:
  the number of themes is found, not chosen), clusters under MIN_SIZE left unassigned. Each
  cluster is matched to the themes that were (the share of its comments already in one,
  else the nearest centroid): it keeps that theme's id, and a lead's name. A cluster matched
  to a merged theme goes to the theme it was merged into; the parts of a split theme share
  out whatever cluster matches either part by nearest centroid, so they stay split (also
  when a merge chain ends at a split theme). Themes nothing matched are retired; a retired
  theme a lead named is still matched by centroid, and comes back under its name.
  Deterministic: same comments, same themes.
- Lead operations (`rename`, `merge`, `split`: a 2-means in numpy on a sample, cheap enough
  for the request) flush and audit; the caller commits. They raise ThemeError(status, field,
  message): 409 BUSY while a batch or the rebuild holds the themes' lock.
- `forget`: an emptied comment (erasure, retention) loses its embedding and leaves its theme
  and the theme's examples; the theme's words (and name, unless a lead's) are found again.

Settings: FOLLOWUP_THEMES_DAYS (180), FOLLOWUP_THEMES_MAX_CLUSTERED (5000),
FOLLOWUP_THEME_SIMILARITY (30 percent). See docs/themes.md.
"""

import hashlib
import importlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from followup import audit, embeddings
from followup.extensions import db
from followup.models import Case, CommentEmbedding, Response, Theme
from followup.models.base import utcnow
from followup.models.themes import MAX_NAME

BATCH = 128  # comments embedded in one call (one worker transaction)
FIRST_REBUILD_AT = 30  # comments waiting, with no theme yet, that make the first themes
ASSIGN_COSINE = 0.45  # a comment joins the nearest theme's centroid at least this close
MATCH_COSINE = 0.8  # a rebuilt cluster matches a theme by centroid at least this close
MATCH_SHARE = 0.5  # ... or when at least this share of its comments were in that theme
MIN_SIZE = 5  # smaller clusters stay unassigned
WORDS = 8  # telling words kept per theme
NAME_WORDS = 3  # of which the name shows
EXAMPLES = 3
OLDER_PAGE = 5000  # the window's comments beyond the clustered ones, read a page at a time
WORDS_SAMPLE = 2000  # an erasure's themes find their words again from this many comments each
SPLIT_SAMPLE = 500  # a split's two centres are found on its newest comments, at most these
SPLIT_ROUNDS = 20  # 2-means rounds at most (it settles in a few)
# PostgreSQL advisory lock (transaction-scoped) held while a batch is embedded or the themes
# rebuilt, and by a lead's rename, merge or split (only tried: "try again shortly") and an
# erasure's forget (waited for): two workers never embed the same comments, a rebuild never
# races a batch or a lead's change, and an erased comment is never embedded again.
LOCK_KEY = 0x7468656D
BUSY = "The themes are being rebuilt; try again shortly."
DEFAULTS = {"THEMES_DAYS": 180, "THEMES_MAX_CLUSTERED": 5000, "THEME_SIMILARITY": 30}

# Words that say nothing about a theme, in the languages customers write most (en, es, fr,
# de, pt); a small list, as the class-based TF-IDF already discounts what every theme says.
STOP_WORDS = frozenset(
    """a about after again all also am an and any are as at be been before being but by can
    could did do does doing don done for from get got had has have he her here him his how i
    if in into is it its just me more most my no nor not now of off on once only or other our
    out over own same she should so some still such than that the their them then there these
    they this those through to too under until up very was we were what when where which who
    why will with would you your yours
    al algo algunos ante antes como con contra cual cuando de del desde donde durante e el
    ella ellos en entre era es esa ese eso esta estaba estado estar este esto estos fue fueron
    ha hace han hasta hay la las le les lo los mas me mi mis mucho muy más nada ni no nos o
    otra otro para pero poco por porque que qué se ser si sido sin sobre son su sus también
    te tengo tiene todo todos tu tus un una uno unos usted y ya yo él
    au aux avec ce ces dans des du elle en est et eux il ils je la le les leur lui ma mais me
    mes moi mon ne nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu
    un une vos votre vous été être
    aber als am auch auf aus bei bin bis da das dass dem den der des die doch du ein eine
    einem einen einer er es für hat hatte ich ihr im in ist ja kein mich mir mit nach nicht
    noch nur oder sehr sich sie sind so um und uns von vor war waren was wie wir zu zum zur
    ao aos as até com como da das de dela dele do dos ela ele em era essa esse eu foi há
    isso já mais mas me meu minha muito na nas no nos não o os ou para pela pelo por quando
    que se sem seu sua são também tem um uma você é
    thanks thank gracias hi hello hola ok okay please por favor
    time times day days week weeks every again never still after
    vez veces día días semana semanas cada otra otro nunca sigo todavía después""".split()
)
# Words of 3 to 30 letters (a longer run of letters is no word a theme is known by).
TOKEN = re.compile(r"(?<![^\W\d_])[^\W\d_]{3,30}(?![^\W\d_])")


class ThemeError(Exception):
    """A lead operation refused: HTTP status (404, 409, 422), the field at fault, why."""

    def __init__(self, status: int, field: str, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _sklearn_cluster():
    """scikit-learn's clustering, imported when first used: it takes most of a second, which
    the web processes (they import this module for the lead's operations) need not pay."""
    return importlib.import_module("sklearn.cluster")


def _setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


def _exclusive(wait: bool) -> bool:
    """The themes' lock for this transaction (PostgreSQL; SQLite has one writer anyway):
    waited for, or only tried (False: another worker holds it)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    held = db.session.scalar(sa.text(f"SELECT {function}(:key)"), {"key": LOCK_KEY})
    return wait or bool(held)


def _matrix(rows: Iterable[bytes]) -> np.ndarray:
    vectors = [embeddings.from_bytes(raw) for raw in rows]
    if not vectors:
        return np.zeros((0, embeddings.DIMENSIONS), dtype=np.float32)
    return np.stack(vectors)


def _fits(vector: bytes) -> bool:
    """Whether a stored vector is of the model's dimensions (not another model's)."""
    return len(vector) == embeddings.DIMENSIONS * np.dtype(np.float32).itemsize


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def live_themes() -> list[Theme]:
    """The themes comments can be in (not retired, not merged), oldest first."""
    return list(
        db.session.scalars(
            sa.select(Theme)
            .where(Theme.retired_at.is_(None), Theme.merged_into_id.is_(None))
            .order_by(Theme.id)
        )
    )


def _nearest(vectors: np.ndarray, themes: Sequence[Theme]) -> list[int | None]:
    """Each vector's nearest theme id when at least ASSIGN_COSINE close, else None."""
    themes = [t for t in themes if _fits(t.centroid)]
    if not themes or not len(vectors):
        return [None] * len(vectors)
    similarity = vectors @ _matrix(t.centroid for t in themes).T
    best = similarity.argmax(axis=1)
    return [themes[b].id if similarity[n, b] >= ASSIGN_COSINE else None for n, b in enumerate(best)]


def _recount(theme_ids: Iterable[int | None]) -> None:
    """The named themes' sizes counted again from their comments."""
    for theme_id in {t for t in theme_ids if t is not None}:
        count = db.session.scalar(
            sa.select(sa.func.count()).where(CommentEmbedding.theme_id == theme_id)
        )
        db.session.execute(sa.update(Theme).where(Theme.id == theme_id).values(size=count))


def window_start(now: datetime) -> datetime:
    """The themes' window starts THEMES_DAYS before now: older comments are not grouped."""
    return now - timedelta(days=_setting("THEMES_DAYS"))


def in_window(now: datetime) -> sa.ColumnElement[bool]:
    """The answers whose comments are themed (over Response): answered in the last
    THEMES_DAYS, of a case not redacted (an erased case's kept words are never embedded)."""
    since = window_start(now)
    case = aliased(Case)  # not the caller's Case, if it joins one
    redacted = sa.select(case.id).where(case.id == Response.case_id, case.redacted_at.is_not(None))
    return sa.and_(Response.created_at >= since, ~redacted.exists())


def unembedded(now: datetime) -> sa.ColumnElement[bool]:
    """The answers (Response outer-joined to CommentEmbedding) with a comment to embed and no
    embedding yet: what embed_pending embeds first, and the dashboard counts as waiting."""
    return sa.and_(
        in_window(now), CommentEmbedding.response_id.is_(None), sa.func.trim(Response.comment) != ""
    )


def text_hash(text: str) -> str:
    """The hash of a comment's text as embedded (trimmed)."""
    return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()


def embed_pending(now: datetime) -> int:
    """Embed a batch of comments not embedded yet (or changed since) and put each in its
    theme; the number embedded (0: none waiting). Comments of the last THEMES_DAYS only,
    of cases not redacted; a comment emptied since it was embedded loses its embedding; an
    answer changed with the same comment keeps its embedding and theme."""
    if not _exclusive(wait=False):
        return 0  # another worker is embedding: it goes on until none is left
    rows = db.session.execute(
        sa.select(Response.id, Response.comment, Response.updated_at, CommentEmbedding)
        .outerjoin(CommentEmbedding, CommentEmbedding.response_id == Response.id)
        .where(
            sa.or_(
                unembedded(now),
                sa.and_(
                    in_window(now),
                    sa.or_(
                        Response.updated_at > CommentEmbedding.embedded_at,
                        CommentEmbedding.model != embeddings.MODEL,  # another model's vector
                    ),
                ),
            )
        )
        .order_by(Response.id)
        .limit(BATCH)
    ).all()
    if not rows:
        return 0
    gone = [row for row in rows if row.CommentEmbedding and not row.comment.strip()]
    if gone:
        forget([row.id for row in gone])
    rows = [row for row in rows if row.comment.strip()]
    same = [
        row
        for row in rows
        if row.CommentEmbedding is not None
        and row.CommentEmbedding.model == embeddings.MODEL
        and row.CommentEmbedding.text_hash == text_hash(row.comment)
    ]
    for row in same:  # the answer changed, not its comment: it stays where it is
        row.CommentEmbedding.embedded_at = max(now, row.updated_at)
    rows = [row for row in rows if row.id not in {r.id for r in same}]
    themes = live_themes()
    vectors = embeddings.embed([row.comment.strip() for row in rows])
    touched: list[int | None] = []
    for row, vector, theme_id in zip(rows, vectors, _nearest(vectors, themes), strict=True):
        # Never before the answer's own time, or a clock behind it would embed it forever.
        at = max(now, row.updated_at)
        if (embedding := row.CommentEmbedding) is None:
            embedding = CommentEmbedding(response_id=row.id)
            db.session.add(embedding)
        touched += [embedding.theme_id, theme_id]
        embedding.model, embedding.vector = embeddings.MODEL, embeddings.to_bytes(vector)
        embedding.embedded_at, embedding.theme_id = at, theme_id
        embedding.text_hash = text_hash(row.comment)
    db.session.flush()
    _recount(touched)
    if not themes and _first_themes_due():
        rebuild(now)
    return len(rows) + len(same) + len(gone)


def _first_themes_due() -> bool:
    """No theme ever made, and enough comments waiting to make the first ones."""
    if db.session.scalar(sa.select(Theme.id).limit(1)) is not None:
        return False
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(CommentEmbedding))
    return (waiting or 0) >= FIRST_REBUILD_AT


def telling_words(groups: Sequence[Sequence[str]], background: Sequence[str] = ()) -> list:
    """Each group's most telling words, best first: class-based TF-IDF (a word's share of
    the group's words, times log(1 + average words per class / the word's count in every
    class)); `background` is one more class that gets no words (the comments in no group)."""
    classes = [Counter(_tokens(" ".join(texts))) for texts in (*groups, background)]
    totals: Counter[str] = Counter()
    for counts in classes:
        totals.update(counts)
    average = sum(totals.values()) / max(len(classes), 1)
    found = []
    for counts in classes[: len(groups)]:
        size = sum(counts.values()) or 1
        scores = {
            word: (n / size) * np.log(1 + average / totals[word]) for word, n in counts.items()
        }
        found.append(sorted(scores, key=lambda w: (-scores[w], w))[:WORDS])
    return found


def _tokens(text: str) -> list[str]:
    return [w for w in TOKEN.findall(text.lower()) if w not in STOP_WORDS]


def _name(words: Sequence[str]) -> str:
    """A theme's name from its words, cut to the column's MAX_NAME characters."""
    return (", ".join(words[:NAME_WORDS]) or "(no words)")[:MAX_NAME]


def _examples(ids: Sequence[int], vectors: np.ndarray, centroid: np.ndarray) -> list[int]:
    """The ids of the EXAMPLES comments nearest the centroid (ties: the older answer)."""
    similarity = vectors @ centroid
    order = sorted(range(len(ids)), key=lambda n: (-round(float(similarity[n]), 6), ids[n]))
    return [ids[n] for n in order[:EXAMPLES]]


def _window(since: datetime, limit: int, after: tuple | None = None) -> Sequence[Any]:
    """Up to `limit` embedded comments answered since `since`, newest first, older than
    `after` (an answer's (created_at, id)) when given: (response id, comment, vector,
    theme, created_at)."""
    query = (
        sa.select(
            CommentEmbedding.response_id,
            Response.comment,
            CommentEmbedding.vector,
            CommentEmbedding.theme_id,
            Response.created_at,
        )  # fmt: skip
        .join(Response, Response.id == CommentEmbedding.response_id)
        .where(
            Response.created_at >= since,
            Response.comment != "",
            CommentEmbedding.model == embeddings.MODEL,
        )
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(sa.tuple_(Response.created_at, Response.id) < after)
    return db.session.execute(query).all()


def cluster(vectors: np.ndarray, similarity: int) -> list[list[int]]:
    """Groups of row numbers (each at least MIN_SIZE, largest first): agglomerative
    clustering, cosine distance, average linkage, cut where a group's average similarity
    would fall below `similarity` percent. Deterministic (no random start)."""
    if len(vectors) < MIN_SIZE:
        return []
    labels = (
        _sklearn_cluster()
        .AgglomerativeClustering(
            n_clusters=None,
            metric="cosine",
            linkage="average",
            distance_threshold=1 - similarity / 100,
        )
        .fit_predict(vectors)
    )
    groups: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        groups[int(label)].append(row)
    kept = [rows for rows in groups.values() if len(rows) >= MIN_SIZE]
    return sorted(kept, key=lambda rows: (-len(rows), rows[0]))


def rebuild(now: datetime) -> int:
    """Cluster the comments again from scratch, keeping the themes a lead named, merged or
    split (see the module's doc); the number of live themes."""
    _exclusive(wait=True)
    db.session.expire_all()  # the themes as they are now the lock is held
    since = window_start(now)
    cap = int(_setting("THEMES_MAX_CLUSTERED"))
    window = _window(since, cap)
    ids = [row.response_id for row in window]
    vectors = _matrix(row.vector for row in window)
    previous: dict[int, int | None] = {row.response_id: row.theme_id for row in window}
    clusters = cluster(vectors, _setting("THEME_SIMILARITY"))
    centroids = [_unit(vectors[rows].mean(axis=0)) for rows in clusters]
    # Each cluster matched to a theme that was, if any, and split between split parts.
    everything = {t.id: t for t in db.session.scalars(sa.select(Theme))}
    was_split = {t.split_from_id for t in everything.values() if t.split_from_id}
    # Live themes, merged ones (their target continues them), and a lead's named theme that
    # a quiet spell retired (it comes back under its name).
    candidates = [t for t in everything.values()
                  if (t.retired_at is None or t.merged_into_id or _revivable(t, was_split))
                  and _fits(t.centroid)]  # fmt: skip
    shaped = {t.merged_into_id for t in everything.values() if t.merged_into_id}
    parts: dict[int, list[Theme]] = defaultdict(list)
    for theme in everything.values():
        if theme.split_from_id and theme.live and _fits(theme.centroid):
            parts[theme.split_from_id].append(theme)
    # A split's parts count as one for the overlap (the cluster is shared out below).
    family = {t.id: min(s.id for s in sibs) for sibs in parts.values() if len(sibs) > 1
              for t in sibs}  # fmt: skip
    previous = {i: None if t is None else family.get(t, t) for i, t in previous.items()}
    pieces: list[tuple[int | None, list[int], int]] = []  # (theme id, rows, overlap)
    for rows, centroid in zip(clusters, centroids, strict=True):
        theme_id, overlap = _match(rows, centroid, ids, previous, candidates, everything,
                                   parts, was_split)  # fmt: skip
        matched = everything.get(theme_id) if theme_id else None
        if matched and matched.split_from_id and len(parts[matched.split_from_id]) > 1:
            siblings = parts[matched.split_from_id]
            nearest = (vectors[rows] @ _matrix(t.centroid for t in siblings).T).argmax(axis=1)
            for n, sibling in enumerate(siblings):
                share = [row for row, b in zip(rows, nearest, strict=True) if b == n]
                if share:
                    pieces.append((sibling.id, share, len(share)))
        else:
            pieces.append((theme_id, rows, overlap))
    # One theme per cluster, except the lead's: a merge target or a split part takes all.
    members: dict[int | None, list[int]] = defaultdict(list)
    made: list[list[int]] = []
    taken: set[int] = set()
    for theme_id, rows, _ in sorted(pieces, key=lambda p: (-p[2], -len(p[1]), p[1][0])):
        lead_shaped = theme_id in shaped or (
            theme_id is not None and everything[theme_id].split_from_id is not None
        )
        if theme_id is not None and (theme_id not in taken or lead_shaped):
            taken.add(theme_id)
            members[theme_id] += rows
        else:
            made.append(rows)
    for rows in made:
        theme = Theme(name="", centroid=b"", words=[], examples=[], size=0, created_at=now)
        db.session.add(theme)
        db.session.flush()
        everything[theme.id] = theme
        members[theme.id] = rows
    groups = {theme_id: rows for theme_id, rows in members.items() if theme_id is not None}
    _store(now, window, vectors, groups, everything)
    if len(window) == cap and groups:
        _assign_older(since, window[-1], groups, everything)
    _recount(groups)
    return len(groups)


def _assign_older(since: datetime, newest, groups: dict[int, list[int]], everything) -> None:
    """The window's comments older than the clustered ones (from `newest` on), a page at a
    time: each joins the nearest theme when close enough, else none."""
    order = sorted(groups)
    centroids = _matrix(everything[t].centroid for t in order)
    after = (newest.created_at, newest.response_id)
    while page := _window(since, OLDER_PAGE, after):
        similarity = _matrix(row.vector for row in page) @ centroids.T
        best = similarity.argmax(axis=1)
        found = [order[b] if similarity[n, b] >= ASSIGN_COSINE else None
                 for n, b in enumerate(best)]  # fmt: skip
        _move([(row.response_id, theme_id) for row, theme_id in zip(page, found, strict=True)
               if theme_id != row.theme_id])  # fmt: skip
        after = (page[-1].created_at, page[-1].response_id)


def _move(changes: list[tuple[int, int | None]]) -> None:
    """Put these comments in these themes (None: in none)."""
    for theme_id in {t for _, t in changes}:
        chosen = [i for i, t in changes if t == theme_id]
        for start in range(0, len(chosen), 500):
            db.session.execute(
                sa.update(CommentEmbedding)
                .where(CommentEmbedding.response_id.in_(chosen[start : start + 500]))
                .values(theme_id=theme_id)
            )


def _revivable(theme: Theme, was_split: set[int]) -> bool:
    """A retired theme a rebuild may bring back: one a lead named, neither merged nor split."""
    return bool(theme.named_by) and theme.merged_into_id is None and theme.id not in was_split


def _match(rows, centroid, ids, previous, candidates, everything, parts,
           was_split) -> tuple[int | None, int]:  # fmt: skip
    """The theme a cluster continues (a merged theme: the one it was merged into, at the end
    of the chain; a split theme: one of its parts, the caller shares the cluster out) and how
    many of its comments were in it; None when none."""
    counts = Counter(previous[ids[row]] for row in rows if previous[ids[row]] is not None)
    theme_id, overlap = None, 0
    if counts:
        best, n = min(counts.items(), key=lambda item: (-item[1], item[0]))
        if n >= MATCH_SHARE * len(rows):
            theme_id, overlap = best, n
    if theme_id is None and candidates:
        similarity = _matrix(t.centroid for t in candidates) @ centroid
        best = int(similarity.argmax())
        if similarity[best] >= MATCH_COSINE:
            theme_id = candidates[best].id
    seen = set()
    while theme_id is not None and everything[theme_id].merged_into_id and theme_id not in seen:
        seen.add(theme_id)
        theme_id = everything[theme_id].merged_into_id
    if theme_id is not None and parts.get(theme_id):  # split since: its parts share it
        theme_id = parts[theme_id][0].id
    theme = everything.get(theme_id) if theme_id is not None else None
    if theme is None or theme.merged_into_id:
        return None, 0
    if theme.retired_at and not _revivable(theme, was_split):
        return None, 0
    return theme_id, overlap


def _store(now, window, vectors, groups: dict[int, list[int]], everything) -> None:
    """Write the rebuilt membership and each theme's centroid, size, words, name, examples;
    retire the live themes that got no cluster."""
    ids = [row.response_id for row in window]
    theme_of = {ids[row]: theme_id for theme_id, rows in groups.items() for row in rows}
    _move([(i, theme_of.get(i)) for i, row in zip(ids, window, strict=True)
           if theme_of.get(i) != row.theme_id])  # fmt: skip
    order = sorted(groups)
    grouped = {row for rows in groups.values() for row in rows}
    background = [window[row].comment for row in range(len(window)) if row not in grouped]
    words = telling_words([[window[row].comment for row in groups[t]] for t in order],
                          background[:WORDS_SAMPLE])  # fmt: skip
    for theme_id, theme_words in zip(order, words, strict=True):
        theme, rows = everything[theme_id], groups[theme_id]
        centroid = _unit(vectors[rows].mean(axis=0))
        theme.centroid, theme.size, theme.words = (
            embeddings.to_bytes(centroid),
            len(rows),
            theme_words,
        )
        theme.examples = _examples([ids[row] for row in rows], vectors[rows], centroid)
        if theme.named_by is None:
            theme.name = _name(theme_words)
        theme.retired_at, theme.updated_at = None, now
    for theme in everything.values():
        if theme.id not in groups and theme.retired_at is None and theme.merged_into_id is None:
            theme.retired_at, theme.updated_at = now, now
    db.session.flush()


# The lead's operations.


def _locked(*themes: Theme) -> None:
    """The themes' lock for a lead's change, only tried (ThemeError 409 while a batch or a
    rebuild holds it), then these themes read again as the lock found them."""
    if not _exclusive(wait=False):
        raise ThemeError(409, "theme", BUSY)
    for theme in themes:
        db.session.refresh(theme)


def _live(theme: Theme, field: str) -> None:
    if theme.retired_at is not None or theme.merged_into_id is not None:
        raise ThemeError(409, field, "This theme is retired or merged; choose a current one.")


def rename(theme: Theme, name: str, by: str) -> Theme:
    """The lead's name for the theme; a rebuild keeps it."""
    name = " ".join((name or "").split())
    if not name:
        raise ThemeError(422, "name", "A theme's name cannot be empty.")
    if len(name) > MAX_NAME:
        raise ThemeError(422, "name", f"A theme's name is at most {MAX_NAME} characters.")
    _locked(theme)
    _live(theme, "theme")
    before = audit.snapshot(theme, ("name", "named_by"))
    theme.name, theme.named_by = name, by
    db.session.flush()
    audit.record("theme.rename", "theme", theme.id, f"Theme renamed: {name}", before,
                 audit.snapshot(theme, ("name", "named_by")), actor=by)  # fmt: skip
    return theme


def merge(source: Theme, target: Theme, by: str) -> Theme:
    """The source's comments move into the target; the source is retired and points at the
    target, so a rebuild sends what it finds of the source to the target. The target's
    centre becomes the two centres weighed by their sizes, its examples the nearest of both
    themes' examples, its words both lists (the rebuild computes them again). The target."""
    if source.id == target.id:
        raise ThemeError(409, "target", "A theme cannot be merged into itself.")
    _locked(source, target)
    _live(source, "theme")
    _live(target, "target")
    db.session.execute(
        sa.update(CommentEmbedding)
        .where(CommentEmbedding.theme_id == source.id)
        .values(theme_id=target.id)
    )
    now = utcnow()
    if len(source.centroid) == len(target.centroid):
        weighed = (embeddings.from_bytes(target.centroid) * max(target.size, 1)
                   + embeddings.from_bytes(source.centroid) * max(source.size, 1))  # fmt: skip
        centroid = _unit(weighed)
        target.centroid = embeddings.to_bytes(centroid)
        shown = list(dict.fromkeys([*target.examples, *source.examples]))
        rows = db.session.execute(
            sa.select(CommentEmbedding.response_id, CommentEmbedding.vector).where(
                CommentEmbedding.response_id.in_(shown), CommentEmbedding.theme_id == target.id
            )
        ).all()
        target.examples = _examples([row.response_id for row in rows],
                                    _matrix(row.vector for row in rows), centroid)  # fmt: skip
    target.words = list(dict.fromkeys([*target.words, *source.words]))[:WORDS]
    if target.named_by is None:
        target.name = _name(target.words)
    source.merged_into_id, source.retired_at, source.updated_at = target.id, now, now
    target.updated_at, source.size = now, 0
    db.session.flush()
    _recount([target.id])
    audit.record("theme.merge", "theme", source.id,
                 f"Theme {source.name} merged into {target.name}",
                 {"merged_into_id": None}, {"merged_into_id": target.id}, actor=by)  # fmt: skip
    return target


def two_means(vectors: np.ndarray) -> np.ndarray:
    """Each row's part (0 or 1) by 2-means on unit vectors, cosine: started from the two rows
    farthest apart (deterministic), at most SPLIT_ROUNDS rounds; the two centres (unit)."""
    similarity = vectors @ vectors.T
    first, second = np.unravel_index(int(similarity.argmin()), similarity.shape)
    centres = vectors[[first, second]]
    for _ in range(SPLIT_ROUNDS):
        labels = (vectors @ centres.T).argmax(axis=1)
        if labels.min() == labels.max():
            break  # a part lost every row: keep the centres found so far
        moved = np.stack([_unit(vectors[labels == part].mean(axis=0)) for part in (0, 1)])
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres


def split(theme: Theme, by: str) -> list[Theme]:
    """The theme's comments split in two: 2-means (two_means) over its newest SPLIT_SAMPLE
    comments finds two centres, and every comment of the theme goes to the nearer one, a page
    at a time (one UPDATE per part and page); two new themes that record where they came from
    (a rebuild keeps them apart); the theme is retired. Cheap enough for the request."""
    _locked(theme)
    _live(theme, "theme")
    rows = db.session.execute(
        sa.select(CommentEmbedding.response_id, CommentEmbedding.vector, Response.comment)
        .join(Response, Response.id == CommentEmbedding.response_id)
        .where(CommentEmbedding.theme_id == theme.id)
        .order_by(CommentEmbedding.response_id.desc())
        .limit(SPLIT_SAMPLE)
    ).all()
    size = len(rows[0].vector) if rows else 0
    rows = [row for row in rows if len(row.vector) == size]  # one model's vectors
    vectors = _matrix(row.vector for row in rows)
    too_few = ThemeError(409, "theme", "This theme has too few different comments to split.")
    if len(np.unique(vectors.round(5), axis=0)) < 2:
        raise too_few
    centres = two_means(vectors)
    labels = (vectors @ centres.T).argmax(axis=1)
    halves = [[n for n, label in enumerate(labels) if label == part] for part in (0, 1)]
    if not all(halves):
        raise too_few
    order = sorted((0, 1), key=lambda p: (-len(halves[p]), rows[halves[p][0]].response_id))
    halves, centres = [halves[p] for p in order], centres[order]
    others = db.session.scalars(
        sa.select(Response.comment)
        .join(CommentEmbedding, CommentEmbedding.response_id == Response.id)
        .where(sa.or_(CommentEmbedding.theme_id != theme.id, CommentEmbedding.theme_id.is_(None)))
        .order_by(Response.id.desc())
        .limit(WORDS_SAMPLE)
    ).all()
    words = telling_words([[rows[n].comment for n in half] for half in halves], others)
    now = utcnow()
    made = []
    for half, half_words, centre in zip(halves, words, centres, strict=True):
        part = Theme(
            name=_name(half_words), words=half_words, centroid=embeddings.to_bytes(centre),
            size=len(half), split_from_id=theme.id, created_at=now, updated_at=now,
            examples=_examples([rows[n].response_id for n in half], vectors[half], centre),
        )  # fmt: skip
        db.session.add(part)
        made.append(part)
    db.session.flush()
    while page := db.session.execute(
        sa.select(CommentEmbedding.response_id, CommentEmbedding.vector)
        .where(CommentEmbedding.theme_id == theme.id)
        .order_by(CommentEmbedding.response_id.desc())
        .limit(OLDER_PAGE)
    ).all():
        nearest = [int((embeddings.from_bytes(row.vector) @ centres.T).argmax())
                   if len(row.vector) == size else 0 for row in page]  # fmt: skip
        _move([(row.response_id, made[b].id) for row, b in zip(page, nearest, strict=True)])
    theme.retired_at, theme.updated_at, theme.size = now, now, 0
    db.session.flush()
    _recount([part.id for part in made])
    audit.record("theme.split", "theme", theme.id,
                 f"Theme {theme.name} split into {made[0].name} and {made[1].name}",
                 {"split_into": None}, {"split_into": [t.id for t in made]}, actor=by)  # fmt: skip
    return made


def forget(response_ids: Sequence[int]) -> None:
    """These answers' comments were emptied (erasure, retention, a changed answer): their
    embeddings go, they leave their themes' sizes and examples."""
    if not response_ids:
        return
    _exclusive(wait=True)  # a batch under way ends first; the next one skips these
    ids = set(response_ids)
    touched = set()
    for start in range(0, len(response_ids), 500):
        chunk = list(response_ids[start : start + 500])
        touched |= set(
            db.session.scalars(
                sa.select(CommentEmbedding.theme_id).where(
                    CommentEmbedding.response_id.in_(chunk), CommentEmbedding.theme_id.is_not(None)
                )
            )
        )
        db.session.execute(
            sa.delete(CommentEmbedding).where(CommentEmbedding.response_id.in_(chunk))
        )
    for theme in db.session.scalars(sa.select(Theme)):
        if ids & set(theme.examples or []):
            theme.examples = [i for i in theme.examples if i not in ids]
    db.session.flush()
    _recount(touched)
    _reword(sorted(t for t in touched if t is not None))


def _reword(theme_ids: Sequence[int]) -> None:
    """These themes' telling words (and name, unless a lead named it) found again from their
    comments now (the newest WORDS_SAMPLE of each, against as many others): an erased
    comment's words leave them at once, not at the next rebuild."""
    if not theme_ids:
        return

    def comments(where) -> list[str]:
        return list(db.session.scalars(
            sa.select(Response.comment)
            .join(CommentEmbedding, CommentEmbedding.response_id == Response.id)
            .where(where)
            .order_by(Response.id.desc())
            .limit(WORDS_SAMPLE)
        ))  # fmt: skip

    groups = [comments(CommentEmbedding.theme_id == theme_id) for theme_id in theme_ids]
    others = comments(sa.or_(CommentEmbedding.theme_id.is_(None),
                             CommentEmbedding.theme_id.not_in(theme_ids)))  # fmt: skip
    for theme_id, words in zip(theme_ids, telling_words(groups, others), strict=True):
        theme = db.session.get(Theme, theme_id)
        if theme is not None:
            theme.words = words
            if theme.named_by is None:
                theme.name = _name(words)
    db.session.flush()
