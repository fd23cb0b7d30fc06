"""How fast the comment themes' pages answer with many comments: a fresh SQLite database in a
temporary folder (migrated with the real migrations), N answered comments spread over the
last year (bulk inserts, tests.support.comment_corpus.add_answers), each put in one of 40
themes or (one in ten) in none, as rows (no model: this measures the pages, not the
embedding), a manager signed in on Flask's test client; then the median and worst of RUNS
requests of each page after a warm-up, and of followup.theme_figures.figures alone.

    .venv/bin/python bench/theme_dashboard.py [comments, default 100000]
"""

import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from followup import create_app, theme_figures  # noqa: E402
from followup.extensions import db  # noqa: E402
from followup.figures import Filters  # noqa: E402
from followup.models import CommentEmbedding, Theme, User  # noqa: E402
from followup.models.base import utcnow  # noqa: E402
from followup.setup import ensure_standard_setup  # noqa: E402
from tests.support.comment_corpus import add_answers  # noqa: E402
from tests.support.console import PASSWORD, password_hash  # noqa: E402

RUNS = 7
THEMES = 40
CHUNK = 5000


def timed(call) -> tuple[float, float]:
    call()  # warm-up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times), max(times)


def main(comments: int) -> None:
    folder = tempfile.mkdtemp(prefix="bench-themes-")
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": folder, "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "WTF_CSRF_ENABLED": False,
    })  # fmt: skip
    with app.app_context():
        upgrade()
        ensure_standard_setup()
        db.session.add(User(email="manager@example.com", role="manager", name="Manager",
                            password_hash=password_hash(), session_version=1))  # fmt: skip
        themes = [Theme(name=f"theme {i}", words=["word"], examples=[], centroid=b"\0" * 16,
                        size=0) for i in range(THEMES)]  # fmt: skip
        db.session.add_all(themes)
        db.session.flush()
        rng, now, started = random.Random(17), utcnow(), time.perf_counter()
        step = timedelta(days=365) / max(comments, 1)
        for first in range(0, comments, CHUNK):
            texts = [f"comment {n}" for n in range(first, min(comments, first + CHUNK))]
            ids = add_answers(texts, now - timedelta(days=365) + step * first, step=step)
            db.session.execute(sa.insert(CommentEmbedding), [
                dict(response_id=i, theme_id=None if rng.random() < 0.1 else rng.choice(themes).id,
                     model="bench", vector=b"\0" * 16, embedded_at=now) for i in ids
            ])  # fmt: skip
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        print(f"{comments:,} comments over a year in {time.perf_counter() - started:.1f} s")
        for days in (30, 365):
            filters = Filters(start=now.date() - timedelta(days=days - 1), end=now.date())
            median, worst = timed(lambda f=filters: theme_figures.figures(f))
            print(f"theme_figures.figures, {days} days: median {median:.0f} ms, worst {worst:.0f}")
        client = app.test_client()
        signed_in = client.post("/admin/sign-in", data={"email": "manager@example.com",
                                                        "password": PASSWORD})  # fmt: skip
        assert signed_in.status_code == 303, signed_in.status_code
        for url in ("/dashboard/themes?period=30d", "/dashboard/themes?period=365d",
                    f"/dashboard/themes/{themes[0].id}?period=365d",
                    "/dashboard/themes/unassigned?period=365d",
                    "/dashboard/export/themes.csv?period=365d"):  # fmt: skip
            assert client.get(url).status_code == 200, url
            median, worst = timed(lambda u=url: client.get(u).get_data())
            print(f"{url}: median {median:.0f} ms, worst {worst:.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
