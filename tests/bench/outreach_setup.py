"""Shared set-up of the outreach benchmarks (bench_send, bench_gate): data loaded with COPY, and
the Django-side steps, run in a child process so each benchmark has its own settings:

    python -m tests.bench.outreach_setup launch          # create and launch the campaign, print JSON
    python -m tests.bench.outreach_setup plan            # gate evaluation of the audience, print JSON
    python -m tests.bench.outreach_setup stream          # the reference: stream every customer id
    python -m tests.bench.outreach_setup counts          # outbox counts by state, print JSON

The database comes from DATABASE_URL, as for `regard`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

PG_SERVER = os.environ.get("REGARD_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REGARD = str(Path(sys.executable).with_name("regard"))
CHUNK_ROWS = 100_000
TABLES = ("customers_customer", "customers_identifier", "consent_consentevent")
SUBJECT = "{{ greeting }}, our spring letter"
BODY = (
    "{{ greeting }},\n\n" + "Spring is here, and so are the new earphones you asked us about. "
    "They charge in ten minutes, last a whole day, and fold into a case the size of a matchbox. "
    "Our repair shop now fixes any model we ever sold, and the warranty is three years.\n\n"
    * 6
    + "Thank you for reading,\nThe Regard demo shop"
)


def daytime_zone(now: datetime) -> str:
    """A fixed-offset zone where it is around noon now, so quiet hours hold nothing back."""
    offset = max(-12, min(14, 12 - now.astimezone(UTC).hour))
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def database_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def database_recreate(name: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def database_drop(name: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def regard_env(url: str, **extra: str) -> dict[str, str]:
    # DEBUG off as in production: with it on, Django keeps the last 9,000 queries in memory.
    return {**os.environ, "DATABASE_URL": url, "REGARD_DEBUG": "0", "REGARD_LOG_LEVEL": "WARNING", **extra}


def migrate(url: str) -> None:
    subprocess.run([REGARD, "migrate", "--verbosity", "0"], env=regard_env(url), check=True)


def load(url: str, *, customers: int, consenting_every: int = 1) -> float:
    """COPY ``customers`` people, one email each; every ``consenting_every``-th signed up to the newsletter.

    Indexes and constraints are set aside during COPY and rebuilt after (which validates them).
    Answers the seconds it took.
    """
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    zone = daytime_zone(now)
    with psycopg.connect(url) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        restore = _set_aside(conn)
        with conn.cursor() as cursor:
            _copy(
                cursor,
                "customers_customer (id, preferred_name, formality, salutation, given_name, family_name,"
                " street, locality, postcode, region, country, language, time_zone, search_text, source,"
                " created_at, updated_at)",
                _customers(customers, now, zone),
            )
            _copy(
                cursor,
                "customers_identifier (id, customer_id, kind, value_raw, value_normalised, source,"
                " first_seen_at)",
                _identifiers(customers, now),
            )
            _copy(
                cursor,
                "consent_consentevent (id, customer_id, purpose, channel, action, occurred_at,"
                " recorded_at, source, proof)",
                _consents(customers, consenting_every, now),
            )
            for statement in restore:
                cursor.execute(statement)
            for table in TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT coalesce(max(id), 1) FROM {table}))"
                )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {', '.join(TABLES)}")
    return time.perf_counter() - started


def _set_aside(conn: psycopg.Connection) -> list[str]:
    drop: list[str] = []
    create: list[str] = []
    constraints: list[str] = []
    for table in TABLES:
        for name, definition in conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
            [table],
        ).fetchall():
            drop.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            constraints.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for name, definition in conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [table],
        ).fetchall():
            drop.append(f'DROP INDEX "{name}"')
            create.append(definition)
    for statement in drop:
        conn.execute(statement)
    return create + constraints


def _copy(cursor: psycopg.Cursor, target: str, chunks: Iterator[str]) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for chunk in chunks:
            copy.write(chunk)


def email(customer_id: int) -> str:
    return f"reader{customer_id}@example.org"


def _customers(count: int, now: datetime, zone: str) -> Iterator[str]:
    created = (now - timedelta(days=400)).isoformat()
    names = ("Anna", "Lars", "Sofia", "Jonas", "Mia", "Emil", "Olga", "Pierre", "Yuki", "Aisha")
    for start in range(1, count + 1, CHUNK_ROWS):
        rows = []
        for i in range(start, min(start + CHUNK_ROWS, count + 1)):
            name = names[i % len(names)]
            # Every fifth person left no name: the neutral greeting.
            preferred = "" if i % 5 == 0 else name
            rows.append(
                f"{i}\t{preferred}\tneutral\t\t{name}\tBench\t\tBergen\t\t\tNO\ten\t{zone}"
                f"\t{name.lower()} bench\tbench\t{created}\t{created}\n"
            )
        yield "".join(rows)


def _identifiers(count: int, now: datetime) -> Iterator[str]:
    seen = (now - timedelta(days=400)).isoformat()
    for start in range(1, count + 1, CHUNK_ROWS):
        yield "".join(
            f"{i}\t{i}\temail\t{email(i)}\t{email(i)}\tbench\t{seen}\n"
            for i in range(start, min(start + CHUNK_ROWS, count + 1))
        )


def _consents(count: int, every: int, now: datetime) -> Iterator[str]:
    signed = (now - timedelta(days=30)).isoformat()
    proof = '{"form_text_version": "2026-01", "ip": "203.0.113.5"}'
    for start in range(1, count + 1, CHUNK_ROWS):
        yield "".join(
            f"{i}\t{i}\tnewsletter\temail\tgranted\t{signed}\t{signed}\tform\t{proof}\n"
            for i in range(start, min(start + CHUNK_ROWS, count + 1))
            if i % every == 0
        )


def run_step(step: str, url: str, **extra: str) -> dict[str, object]:
    """Run one Django-side step in a child process; answer what it printed (JSON)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.outreach_setup", step],
        env=regard_env(url, **extra),
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- the steps, inside Django ------------------------------------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regard.config.settings")
    import django

    django.setup()


def _step_launch() -> dict[str, object]:
    from regard.outreach import services
    from regard.outreach.models import Campaign

    campaign = services.campaign_create(
        actor=None, name="Spring letter", purpose="newsletter", subject=SUBJECT, body=BODY
    )
    baseline = _rss_mb()
    started = time.perf_counter()
    planned = services.campaign_launch(actor=None, campaign=campaign)
    took = time.perf_counter() - started
    state = Campaign.objects.get(pk=campaign.pk).state
    current, peak = _rss_mb()
    return {"campaign": campaign.pk, "planned": planned, "seconds": took, "state": state,
            "baseline_mb": baseline[0], "rss_mb": current, "peak_mb": peak}  # fmt: skip


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _step_plan() -> dict[str, object]:
    """Gate evaluation of the whole audience, with memory sampled at 10%, 50% and 100% of it."""
    from django.db import connection

    from regard.outreach import planning, services

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        total = cursor.fetchone()[0]
    campaign = services.campaign_create(
        actor=None, name="Planning bench", purpose="newsletter", subject=SUBJECT, body=BODY
    )
    marks = [(0.1, "10%"), (0.5, "50%"), (1.0, "100%")]
    samples: list[dict[str, object]] = []
    started = time.perf_counter()
    baseline = _rss_mb()

    def progress(plan: planning.GatePlan) -> None:
        while marks and plan.audience >= marks[0][0] * total:
            current, peak = _rss_mb()
            samples.append(
                {"at": marks.pop(0)[1], "customers": plan.audience, "seconds": time.perf_counter() - started,
                 "rss_mb": current, "peak_mb": peak}
            )  # fmt: skip

    plan = planning.campaign_gate_plan(campaign=campaign, progress=progress)
    return {
        "audience": plan.audience,
        "seconds": time.perf_counter() - started,
        "by_outcome": dict(plan.by_outcome),
        "by_reason": dict(plan.by_reason),
        "baseline_mb": baseline[0],
        "samples": samples,
    }


def _step_stream() -> dict[str, object]:
    """The reference: every customer id, streamed from a server-side cursor, nothing else."""
    baseline = _rss_mb()
    started = time.perf_counter()
    count = 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor(name="ids") as cursor:
        cursor.itersize = 5_000
        cursor.execute("SELECT id FROM customers_customer ORDER BY id")
        for _ in cursor:
            count += 1
    current, peak = _rss_mb()
    return {"rows": count, "seconds": time.perf_counter() - started, "baseline_mb": baseline[0],
            "rss_mb": current, "peak_mb": peak}  # fmt: skip


def _step_counts() -> dict[str, object]:
    from django.db.models import Count

    from regard.outreach.models import OutboxMessage

    by_state = dict(OutboxMessage.objects.values("state").annotate(n=Count("id")).values_list("state", "n"))
    return {"by_state": by_state, "uncertain": OutboxMessage.objects.filter(was_uncertain=True).count()}


def main() -> None:
    _django()
    step = sys.argv[1]
    steps = {"launch": _step_launch, "plan": _step_plan, "stream": _step_stream, "counts": _step_counts}
    result = steps[step]()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
