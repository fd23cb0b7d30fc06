"""`make bench-dashboard`: how fast the dashboard answers on a year of data, and how its time
grows with the data, against a baseline measured in the same run.

This module owns the dashboard benchmark end to end: a fresh PostgreSQL database (migrated
with the real migrations, dropped afterwards), a year of generated data (bench/generate.py,
PostgreSQL COPY), a manager signed in through /admin/sign-in on Flask's test client, and:

1. the small stage (--cases / 10, default 100,000 cases): generated, its rollups made from
   the generated facts; then `followup.rollups.rebuild()` re-derives every fact and rollup
   from the raw rows, is timed, and must give the same rollups (else the run fails);
2. each dashboard page and JSON view timed (--runs requests after a warm-up; median, p95),
   each request split into its SQL time (SQLAlchemy's before/after_cursor_execute events,
   summed over its statements) and the time outside SQL (the route's Python, the templates,
   Flask's request handling), each with its median and p95;
3. the baseline: the same headline figures computed straight from the raw tables (cases'
   close events, outbox, responses, recoveries, gestures), one SQL query per figure group,
   as a dashboard without rollups would; it must agree with the rollups' sums;
4. the full stage: more cases added to the same year up to --cases (default 1,000,000);
   facts written by the generator with `rollups.round_counts` on the data it made, rollups
   by INSERT ... SELECT ... GROUP BY (rebuild's time per case is printed at stage 1, times
   10 is what a rebuild of the full size costs); pages and baseline timed again;
5. a day of new activity on top of the year (--day-cases new closed cases, and a timeline
   event on twice as many cases of the last week), and the time `rollups.refresh()` takes
   to bring the rollups up to date: what the workers pay per day.

Why the page time grows far slower than the data: the dashboard reads the daily rollups
(DailyChannelFigure: day x channel x cadence x variant x survey, for the unfiltered sums and
trends; DailyAgentFigure: day x team x agent; DailyTeamFigure: day x team x channel x cadence x
variant x survey; DailyFigure, with every dimension, only when the filters need agent and
another dimension together) and DailyReason, one row per bucket that had a closed round. Their
row count is bounded by days x agents x channels x cadences, not by cases: once the buckets are
filled (here 200 agents, 3 channels, 5 cadences), ten times the cases add no rows, only larger
sums. Until then the rows grow sub-linearly (the printed row counts show where this year is).
The baseline's work grows with every raw row. Only the median time to recovery reads RoundFact:
its recovered rounds of the period and the one before, through an index that holds their
recovery times and filter dimensions (an index-only scan).

It prints each page's median and p95 at both sizes with its SQL time and its time outside SQL
beside them, the ratio time(full)/time(small) next to the data ratio, whether each page's p95
at full size is under the aim (AIM_MS), the baseline's times and its ratio to the page, and
writes them all to bench/results/dashboard.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa

from bench.generate import generate, prepare, rollup_contents, rollups_from_facts
from bench.runs import PG_ADMIN_URL, BenchError, require_postgres, run
from tests.support.backends import fresh_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
AIM_MS = 150  # p95 of every page and JSON view at full size (issue 14)
BASELINE_RUNS = 5  # its raw-table queries take seconds at full size
PASSWORD = "bench manager password"
UNDELIVERED = "('failed', 'bounced', 'undelivered')"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboard",
        description="Time the dashboard on a generated year of data at two sizes, beside the "
        "same headline figures computed from the raw tables.",
    )
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases at full size")
    parser.add_argument("--runs", type=int, default=20, help="timed requests per page")
    parser.add_argument(
        "--day-cases", type=int, default=3_000, help="new closed cases of the refreshed day"
    )
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    if args.cases < 1000 or args.cases % 10:
        parser.error("--cases must be a multiple of 10, at least 1,000")
    if args.runs < 1 or args.day_cases < 1:
        parser.error("--runs and --day-cases must be >= 1")
    return args


def _pages(team: str, agent: str) -> list[tuple[str, str]]:
    return [
        ("page 30d", "/dashboard/?period=30d"),
        ("page 365d", "/dashboard/?period=365d"),
        ("json 30d", "/dashboard/figures.json?period=30d"),
        ("json 90d", "/dashboard/figures.json?period=90d"),
        ("json 365d", "/dashboard/figures.json?period=365d"),
        ("json 365d team", f"/dashboard/figures.json?period=365d&team={team}"),
        ("json 90d agent", f"/dashboard/figures.json?period=90d&agent={agent}"),
        ("cases negative 30d", "/dashboard/cases?metric=negative&period=30d"),
        ("cases 365d page 100", "/dashboard/cases?metric=closed&period=365d&page=100"),
        ("experiments", "/dashboard/experiments"),
    ]


def _stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"median_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


class SqlClock:
    """The statements requests run and the time spent in them (engine events: from before
    each cursor execute to after it, so fetching and shaping the rows is not SQL time)."""

    def __init__(self, engine: sa.Engine):
        self.engine, self.count, self.seconds, self._started = engine, 0, 0.0, 0.0

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0

    def _before(self, *args) -> None:
        self._started = time.perf_counter()

    def _after(self, *args) -> None:
        self.count += 1
        self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> SqlClock:
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)


def time_pages(app, client, runs: int) -> dict[str, dict]:
    """Each page: one warm-up request, then `runs` timed ones, each split into the time its
    SQL statements took (SqlClock) and the rest (Python: the route, the templates, the
    request's own machinery); 404 means not in this build."""
    from bench.generate import AGENTS, TEAMS
    from followup.extensions import db

    with app.app_context():
        engine = db.engine
    results = {}
    for name, url in _pages(TEAMS[1].replace(" ", "+"), AGENTS[21].replace(" ", "+")):
        status = client.get(url).status_code
        if status == 404:
            results[name] = {"url": url, "status": 404}
            continue
        if status != 200:
            raise BenchError(f"{url} answered {status}")
        samples, sql_samples, outside, statements = [], [], [], set()
        with SqlClock(engine) as sql:
            for _ in range(runs):
                sql.reset()
                started = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise BenchError(f"{url} answered {response.status_code}")
                samples.append(elapsed)
                sql_samples.append(sql.seconds * 1000)
                outside.append(elapsed - sql.seconds * 1000)
                statements.add(sql.count)
        sql_stats, outside_stats = _stats(sql_samples), _stats(outside)
        results[name] = {
            "url": url, **_stats(samples), "sql_statements": max(statements),
            "sql_median_ms": sql_stats["median_ms"], "sql_p95_ms": sql_stats["p95_ms"],
            "outside_sql_median_ms": outside_stats["median_ms"],
            "outside_sql_p95_ms": outside_stats["p95_ms"],
        }  # fmt: skip
    return results


def baseline(database_url: str, start, end, runs: int) -> tuple[dict, dict[str, int]]:
    """The headline counters for closes from `start` to `end` (dates, included) straight
    from the raw tables, one query per figure group; (timings, counters)."""
    closes = (
        "SELECT e.case_id, (e.detail->>'round')::int AS round FROM case_events e "
        "WHERE e.kind = 'case.closed' AND e.at >= %(start)s AND e.at < %(end)s"
    )
    queries = {
        "closes": f"SELECT count(*) AS closed, count(*) FILTER (WHERE c.status = 'open' "
        f"OR c.round > k.round) AS reopened FROM ({closes}) k JOIN cases c ON c.id = k.case_id",
        "survey sends": f"SELECT count(*) FILTER (WHERE invited) AS invited, count(*) FILTER "
        f"(WHERE delivered) AS delivered FROM (SELECT m.case_id, m.round, bool_or(m.status = "
        f"'sent') AS invited, bool_or(m.status = 'sent' AND coalesce(m.delivery_status, '') "
        f"NOT IN {UNDELIVERED}) AS delivered FROM ({closes}) k JOIN messages m ON m.case_id = "
        f"k.case_id AND m.round = k.round AND m.recovery_id IS NULL JOIN cadence_steps s ON "
        f"s.id = m.step_id AND s.survey_id IS NOT NULL GROUP BY m.case_id, m.round) x",
        "first answers": f"SELECT count(*) AS responded, "
        f"count(*) FILTER (WHERE kind = 'csat') AS csat_n, "
        f"count(*) FILTER (WHERE kind = 'csat' AND score >= 4) AS csat_positive, "
        f"count(*) FILTER (WHERE kind = 'nps') AS nps_n, "
        f"count(*) FILTER (WHERE kind = 'nps' AND score >= 9) AS nps_promoters, "
        f"count(*) FILTER (WHERE kind = 'nps' AND score <= 6) AS nps_detractors, "
        f"count(*) FILTER (WHERE kind = 'ces') AS ces_n, "
        f"coalesce(sum(score) FILTER (WHERE kind = 'ces'), 0) AS ces_sum, "
        f"count(*) FILTER (WHERE score BETWEEN negative_min AND negative_max) AS negative "
        f"FROM (SELECT DISTINCT ON (r.case_id, r.round) r.score, s.kind, s.negative_min, "
        f"s.negative_max FROM ({closes}) k JOIN responses r ON r.case_id = k.case_id AND "
        f"r.round = k.round AND r.recovery_id IS NULL JOIN surveys s ON s.id = r.survey_id "
        f"ORDER BY r.case_id, r.round, r.created_at, r.id) a",
        "recoveries": f"SELECT count(*) FILTER (WHERE v.status = 'recovered') AS recovered, "
        f"count(*) FILTER (WHERE v.status = 'escalated') AS escalated, "
        f"count(g.id) AS gesture, coalesce(sum(g.cost_cents), 0) AS gesture_cost_cents, "
        f"count(*) FILTER (WHERE EXISTS (SELECT 1 FROM responses r WHERE r.recovery_id = "
        f"v.id)) AS checkin_answered FROM ({closes}) k JOIN recoveries v ON v.case_id = "
        f"k.case_id AND v.round = k.round LEFT JOIN gestures g ON g.recovery_id = v.id AND "
        f"g.status <> 'failed'",
    }
    params = {
        "start": datetime.combine(start, datetime.min.time(), UTC),
        "end": datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC),
    }
    timings, counters = {}, {}
    with psycopg.connect(
        sa.engine.make_url(database_url).set(drivername="postgresql").render_as_string(False)
    ) as conn:
        for name, sql in queries.items():
            samples = []
            for run in range(runs + 1):
                started = time.perf_counter()
                cursor = conn.execute(sql, params)
                row = cursor.fetchone()
                if run:  # the first run warms the cache, as the pages' warm-up does
                    samples.append((time.perf_counter() - started) * 1000)
            counters.update(zip([c.name for c in cursor.description], map(int, row), strict=True))
            timings[name] = _stats(samples)
    total = {
        "median_ms": round(sum(t["median_ms"] for t in timings.values()), 1),
        "p95_ms": round(sum(t["p95_ms"] for t in timings.values()), 1),
    }
    return {"queries": timings, "total": total}, counters


def _rollup_rows(app) -> dict[str, int]:
    from followup.extensions import db

    with app.app_context():
        found = {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}"))
                 for t in ("round_facts", "daily_figures", "daily_reasons")}  # fmt: skip
        db.session.remove()
    return found


def _analyze(database_url: str) -> None:
    with psycopg.connect(
        sa.engine.make_url(database_url).set(drivername="postgresql").render_as_string(False),
        autocommit=True,
    ) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by now


def _signed_in_client(app):
    from werkzeug.security import generate_password_hash

    from followup.extensions import db
    from followup.models import User

    with app.app_context():
        db.session.add(User(email="manager@bench.example", role="manager", name="Bench Manager",
                            password_hash=generate_password_hash(PASSWORD)))  # fmt: skip
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    page = client.get("/admin/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = client.post("/admin/sign-in", data={"csrf_token": token, "password": PASSWORD,
                                                 "email": "manager@bench.example"})  # fmt: skip
    if answer.status_code != 303:
        raise BenchError(f"signing in as a manager answered {answer.status_code}")
    return client


def measure(app, client, database_url: str, runs: int, label: str) -> dict:
    """Pages and baseline at the current size; the baseline must agree with the rollups."""
    from followup.models.base import utcnow

    _analyze(database_url)
    pages = time_pages(app, client, runs)
    body = client.get("/dashboard/figures.json?period=365d").get_json()
    today = utcnow().date()
    base, counters = baseline(database_url, today - timedelta(days=364), today, BASELINE_RUNS)
    wrong = {k: (v, body["sums"][k]) for k, v in counters.items() if body["sums"][k] != v}
    if wrong:
        raise BenchError(f"{label}: baseline and rollups disagree (raw, rollup): {wrong}")
    rows = _rollup_rows(app)
    print(f"{label}: rollup rows {rows}", flush=True)
    for name, result in pages.items():
        if result.get("status") == 404:
            print(f"  {name:20} not in this build (404)", flush=True)
        else:
            r = result
            print(f"  {name:20} median {r['median_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms | "
                  f"SQL ({r['sql_statements']:2} statements) median {r['sql_median_ms']:6.1f} ms"
                  f"  p95 {r['sql_p95_ms']:6.1f} ms | outside SQL median "
                  f"{r['outside_sql_median_ms']:6.1f} ms  p95 {r['outside_sql_p95_ms']:6.1f} ms"
                  f"  {r['url']}", flush=True)  # fmt: skip
    for name, result in base["queries"].items():
        print(f"  baseline {name:11} median {result['median_ms']:7.1f} ms  p95 "
              f"{result['p95_ms']:7.1f} ms", flush=True)  # fmt: skip
    print(f"  baseline total       median {base['total']['median_ms']:7.1f} ms (agrees with the "
          f"rollups on {len(counters)} counters over 365 days)", flush=True)  # fmt: skip
    return {"pages": pages, "baseline": base, "rollup_rows": rows}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run(lambda: _bench(args, time.perf_counter()))


def _bench(args: argparse.Namespace, wall_started: float) -> int:
    from flask_migrate import upgrade

    from followup import create_app, rollups
    from followup.extensions import db
    from followup.models.base import utcnow

    pg_version = require_postgres(PG_ADMIN_URL)
    small, full = args.cases // 10, args.cases
    with (
        tempfile.TemporaryDirectory(prefix="followup-bench-") as scratch,
        fresh_database(PG_ADMIN_URL, "followup_bench") as database_url,
    ):
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secrets.token_urlsafe(32),
            "EMBEDDED_REDIS": False, "INSTANCE_PATH": str(Path(scratch) / "instance"),
            "RATELIMIT_ENABLED": False,
        })  # fmt: skip
        logging.disable(logging.INFO)  # alembic's "Running upgrade" lines
        try:
            with app.app_context():
                upgrade()
                db.engine.dispose()
        finally:
            logging.disable(logging.NOTSET)
        world = prepare(app)
        client = _signed_in_client(app)
        now = utcnow()
        print(f"setup: PostgreSQL {pg_version} (fresh database, flask db upgrade), "
              f"{len(world.routes)} close cadences (+1 experiment variant), 20 teams, "
              f"200 agents", flush=True)  # fmt: skip

        started = time.perf_counter()
        made = generate(database_url, world, small, now, seed=args.seed)
        rollups_from_facts(database_url)
        gen_small = time.perf_counter() - started
        print(f"generated {small:,} cases in {gen_small:.1f} s (COPY, facts and rollups "
              f"included): {made}", flush=True)  # fmt: skip
        generated = rollup_contents(database_url)
        with app.app_context():
            started = time.perf_counter()
            events = rollups.rebuild(utcnow())
            rebuild_seconds = time.perf_counter() - started
            db.session.remove()
        same = rollup_contents(database_url) == generated
        print(f"rollups.rebuild() from the raw rows: {small:,} cases ({events:,} events) in "
              f"{rebuild_seconds:.1f} s = {small / rebuild_seconds:,.0f} cases/s (for "
              f"{full:,}: about {rebuild_seconds * 10:.0f} s); same rollups as generated: "
              f"{'yes' if same else 'NO'}", flush=True)  # fmt: skip
        if not same:
            raise BenchError("rebuild from the raw rows differs from the generated rollups")
        at_small = measure(app, client, database_url, args.runs, f"at {small:,} cases")

        started = time.perf_counter()
        more = generate(database_url, world, full - small, now, seed=args.seed + 1)
        gen_seconds = time.perf_counter() - started
        started = time.perf_counter()
        rollups_from_facts(database_url)
        rollup_seconds = time.perf_counter() - started
        totals = {t: made[t] + more[t] for t in made}
        print(f"generated {full - small:,} more cases in {gen_seconds:.1f} s (facts from "
              f"rollups.round_counts on the generated rounds); rollups by INSERT ... SELECT ... "
              f"GROUP BY from round_facts in {rollup_seconds:.1f} s; totals {totals}",
              flush=True)  # fmt: skip
        at_full = measure(app, client, database_url, args.runs, f"at {full:,} cases")

        day_now = utcnow()
        day = generate(database_url, world, args.day_cases, day_now, seed=args.seed + 2,
                       facts=False, days=[day_now.date()])  # fmt: skip
        touched = _touch(database_url, 2 * args.day_cases, day_now - timedelta(minutes=1))
        with app.app_context():
            started = time.perf_counter()
            read = passes = 0
            while got := rollups.refresh(day_now + timedelta(seconds=rollups.LAG_SECONDS)):
                read, passes = read + got, passes + 1
            refresh_seconds = time.perf_counter() - started
            closed = db.session.scalar(sa.text("SELECT sum(closed) FROM daily_figures"))
            db.session.remove()
        expected = totals["cases"] + day["cases"]
        if closed != expected:
            raise BenchError(f"after the refresh the rollups count {closed} closes, not {expected}")
        print(f"a day of new activity: {day['cases']:,} new closed cases ({day['case_events']:,} "
              f"events) and one event on each of {len(touched):,} earlier cases; "
              f"rollups.refresh() read {read:,} events in {passes} passes in "
              f"{refresh_seconds:.1f} s", flush=True)  # fmt: skip

    print("\nratios (full / small; data ratio 10):", flush=True)
    ratios = {}
    for name, result in at_full["pages"].items():
        if "median_ms" not in result:
            continue
        ratio = result["median_ms"] / at_small["pages"][name]["median_ms"]
        over = "  OVER THE AIM" if result["p95_ms"] > AIM_MS else ""
        ratios[name] = round(ratio, 2)
        print(f"  {name:20} {ratio:5.2f}x  (full: median {result['median_ms']:.0f} ms, "
              f"p95 {result['p95_ms']:.0f} ms; aim < {AIM_MS} ms){over}", flush=True)  # fmt: skip
    base_ratio = (
        at_full["baseline"]["total"]["median_ms"] / at_small["baseline"]["total"]["median_ms"]
    )  # noqa: E501
    json_365 = at_full["pages"]["json 365d"]["median_ms"]
    print(f"  baseline (raw tables) {base_ratio:5.2f}x; at full size the baseline's headline "
          f"figures alone take {at_full['baseline']['total']['median_ms'] / json_365:.1f}x the "
          f"rollup JSON's whole 365-day answer", flush=True)  # fmt: skip
    over_aim = [name for name, result in at_full["pages"].items()
                if result.get("p95_ms", 0) > AIM_MS]  # fmt: skip
    print(
        f"aim (every page's p95 under {AIM_MS} ms at {full:,} cases): "
        f"{'met' if not over_aim else 'NOT met: ' + ', '.join(over_aim)}",
        flush=True,
    )
    wall = time.perf_counter() - wall_started
    print(f"wall time of the whole bench: {wall:.0f} s", flush=True)
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "postgres": pg_version,
        "cases": {"small": small, "full": full},
        "rows": totals,
        "generate_seconds": {"small": round(gen_small, 1), "rest": round(gen_seconds, 1)},
        "rebuild": {"cases": small, "seconds": round(rebuild_seconds, 1)},
        "rollups_from_facts_seconds": round(rollup_seconds, 1),
        "refresh": {
            "new_cases": day["cases"],
            "touched_cases": len(touched),
            "events": read,
            "seconds": round(refresh_seconds, 2),
        },  # fmt: skip
        "small": at_small,
        "full": at_full,
        "ratios": ratios,
        "baseline_ratio": round(base_ratio, 2),
        "aim_ms": AIM_MS,
        "over_aim": over_aim,
        "wall_seconds": round(wall, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


def _touch(database_url: str, n: int, at: datetime) -> list[int]:
    """One timeline event on each of N cases closed in the week before `at` (standing for
    their check-ins, reminders and answers of the day: refresh re-derives every touched
    case all the same); returns their ids."""
    with psycopg.connect(
        sa.engine.make_url(database_url).set(drivername="postgresql").render_as_string(False)
    ) as conn:
        case_ids = [row[0] for row in conn.execute(
            "SELECT id FROM cases WHERE closed_at BETWEEN %s AND %s ORDER BY random() LIMIT %s",
            (at - timedelta(days=7), at - timedelta(days=1), n))]  # fmt: skip
        with conn.cursor().copy("COPY case_events (case_id, at, kind, detail) FROM STDIN") as copy:
            for case_id in case_ids:
                copy.write_row((case_id, at, "bench.touched", "{}"))
        conn.commit()
    return case_ids


if __name__ == "__main__":
    sys.exit(main())
