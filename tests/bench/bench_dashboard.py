"""The service dashboard over 90 days, from rollups, beside a `SELECT count(*)` and the direct computation (issue 12).

Creates `regard_bench_dashboard` (dropped at the end), migrates it with `regard migrate` and
loads it with COPY: the timeline benchmark's 1,000,000 customers and 10,000,000 timeline
events × scale, then 1,000,000 conversations × scale over the last 100 days (three teams in
three zones, with holidays, and none; 90% answered, 80% resolved, SLA targets, a survey for
40% of the resolved), 3,000,000 outbox messages × scale (campaigns, a journey, service mail),
unsubscribes that name the campaign message they came from, spam reports, and 500,000 orders
× scale over 200 days, then VACUUM ANALYZE. Then, in one process under Django (`REGARD_DEBUG=0`):

    reference   SELECT count(*) FROM support_conversation, and over the period's rows
    rollups     dashboard_rollup_build for every day with data, today up to now (what the task does)
    selector    service_dashboard for the default period (90 days to now): first load, then p50
    page        GET /insights/dashboard/ as a manager: first load, then p50
    raw         the direct computation from the records (tests/insights/dashboard_reference.py)

Goal: ≤ 1 s for the dashboard's first load at scale 1.0.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x python -m tests.bench.run --only dashboard --scale 0.05

The server is taken from DATABASE_URL (its database name is ignored) or REGARD_BENCH_PG.
Knobs: REGARD_BENCH_KEEP=1 keeps the database; REGARD_BENCH_DASHBOARD_RAW=0 skips the raw
computation (about 85 s at scale 1.0).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.bench import bench_timeline as timeline

DATABASE = "regard_bench_dashboard"
GOAL_SECONDS = 1.0
FULL_CONVERSATIONS = 1_000_000
FULL_MESSAGES = 3_000_000
FULL_ORDERS = 500_000
HISTORY_DAYS = 100
CAMPAIGNS = 24
REPEATS = 5
ROOT = Path(__file__).resolve().parents[2]
TEAMS = (
    # name, slug, zone, country, hours
    ("Care", "care", "Europe/Berlin", "DE", {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}),
    ("Returns", "returns", "Europe/London", "GB", {d: [["08:00", "16:00"]] for d in ("mon", "tue", "wed", "thu")}),
    ("Night desk", "night", "America/New_York", "", {d: [["18:00", "02:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}),
)  # fmt: skip


def _server() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return timeline.PG_SERVER


def run(scale: float) -> None:
    server = _server()
    database_url = f"{server}/{DATABASE}"
    customers = max(1_000, round(timeline.FULL_CUSTOMERS * scale))
    events = max(10_000, round(timeline.FULL_EVENTS * scale))
    conversations = max(1_000, round(FULL_CONVERSATIONS * scale))
    messages = max(2_000, round(FULL_MESSAGES * scale))
    orders = max(1_000, round(FULL_ORDERS * scale))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REGARD_DEBUG": "0",
        "REGARD_ALLOWED_HOSTS": "testserver,127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "regard.config.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    print(f"uptime before: {_uptime()}", flush=True)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    try:
        subprocess.run([timeline.REGARD, "migrate", "--verbosity", "0"], env=env, check=True)
        started = time.perf_counter()
        timeline._load(database_url, customers=customers, events=events)
        print(
            f"loaded {customers:,} customers and {events:,} timeline events in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        _load(
            database_url, customers=customers, conversations=conversations, messages=messages, orders=orders
        )
        print(
            f"loaded {conversations:,} conversations, {messages:,} outbox messages, {orders:,} orders "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        raw = os.environ.get("REGARD_BENCH_DASHBOARD_RAW", "1") != "0"
        subprocess.run(
            [sys.executable, "-c", f"from tests.bench.bench_dashboard import measure; measure(raw={raw})"],
            env=env,
            check=True,
        )
    finally:
        if not os.environ.get("REGARD_BENCH_KEEP"):
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        print(f"uptime after: {_uptime()}", flush=True)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# -- the records (COPY) -----------------------------------------------------------------------


def _load(database_url: str, *, customers: int, conversations: int, messages: int, orders: int) -> None:
    rng = random.Random(20261203)
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(database_url) as conn:
        conn.execute("SET synchronous_commit = off")
        team_ids = [
            conn.execute(
                "INSERT INTO support_team (name, slug, time_zone, country, business_hours, support_address)"
                " VALUES (%s, %s, %s, %s, %s, '') RETURNING id",
                [name, slug, zone, country, json.dumps(hours)],
            ).fetchone()[0]  # type: ignore[index]
            for name, slug, zone, country, hours in TEAMS
        ]
        campaign_ids = [
            conn.execute(
                "INSERT INTO outreach_campaign (name, purpose, channel, subject, body, variants, topics, audience,"
                " state, planned_count, brake_reason, created_at) VALUES"
                " (%s, 'newsletter', 'email', 'News', 'x', '{}', '[]', '{}', 'done', 0, '', %s) RETURNING id",
                [f"Campaign {number}", now - timedelta(days=HISTORY_DAYS + 10)],
            ).fetchone()[0]  # type: ignore[index]
            for number in range(CAMPAIGNS)
        ]
        with conn.cursor() as cursor:
            _copy(
                cursor,
                "support_conversation (id, channel, kind, priority, status, subject, token, language, created_at,"
                " updated_at, first_response_at, resolved_at, reopen_count, handoff_count, customer_message_count,"
                " outcome, first_response_due_at, resolution_due_at, wants_human, customer_id, team_id)",
                _conversation_rows(rng, conversations, customers, team_ids, now),
            )
            _copy(
                cursor,
                "support_satisfactionsurvey (id, token, score, comment, sent_at, answered_at, conversation_id)",
                _survey_rows(rng, conversations, now),
            )
            _copy(
                cursor,
                "outreach_outboxmessage (id, dedupe_key, kind, purpose, channel, journey, subject, body, context,"
                " topics, content_key, state, due_at, attempts, sent_at, message_id, to_address, gate_outcome,"
                " gate_reasons, last_error, was_uncertain, created_at, campaign_id, customer_id)",
                _message_rows(rng, messages, customers, campaign_ids, now),
            )
            _copy(
                cursor,
                "consent_consentevent (id, purpose, channel, action, occurred_at, recorded_at, source, proof,"
                " customer_id)",
                _withdrawal_rows(rng, messages, customers, now),
            )
            _copy(
                cursor,
                "outreach_inboundfeedback (id, kind, status, detail, mail_from, rcpt_to, raw, received_at,"
                " customer_id, outbox_message_id)",
                _complaint_rows(rng, messages, customers, now),
            )
            _copy(
                cursor,
                "customers_order (id, order_number, purchased_at, currency, source, recorded_at, customer_id)",
                _order_rows(rng, orders, customers, now),
            )
        for table in (
            "support_conversation",
            "support_satisfactionsurvey",
            "outreach_outboxmessage",
            "consent_consentevent",
            "outreach_inboundfeedback",
            "customers_order",
        ):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(database_url, autocommit=True) as conn:
        # What autovacuum does to a table that has settled: statistics, and the visibility map
        # that lets PostgreSQL answer from an index alone.
        conn.execute("VACUUM ANALYZE")


def _copy(cursor: psycopg.Cursor, target: str, rows: Iterator[str]) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        batch: list[str] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 50_000:
                copy.write("".join(batch))
                batch = []
        copy.write("".join(batch))


NULL = "\\N"  # COPY's NULL


def _t(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else NULL


def _opened(rng: random.Random, now: datetime) -> datetime:
    return now - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86_400))


def _conversation_rows(
    rng: random.Random, count: int, customers: int, team_ids: list[int], now: datetime
) -> Iterator[str]:
    channels = ("email", "email", "chat", "phone", "form")
    for pk in range(1, count + 1):
        opened = _opened(rng, now)
        first = opened + timedelta(minutes=rng.expovariate(1 / 240)) if rng.random() < 0.9 else None
        resolved = first + timedelta(hours=rng.expovariate(1 / 30)) if first and rng.random() < 0.89 else None
        first, resolved = (m if m is None or m < now else None for m in (first, resolved))
        team = rng.choice([*team_ids, None])
        team_id = str(team) if team else NULL
        yield (
            f"{pk}\t{rng.choice(channels)}\t{'complaint' if rng.random() < 0.1 else 'question'}\tnormal\t"
            f"{'resolved' if resolved else 'open'}\tbench\tbench{pk}\ten\t{_t(opened)}\t{_t(resolved or first or opened)}"
            f"\t{_t(first)}\t{_t(resolved)}\t0\t0\t1\t\t{_t(opened + timedelta(hours=8))}"
            f"\t{_t(opened + timedelta(days=3))}\tf\t{rng.randint(1, customers)}\t{team_id}\n"
        )


def _survey_rows(rng: random.Random, conversations: int, now: datetime) -> Iterator[str]:
    # Not tied to the conversation's own times: the dashboard counts a survey by its conversation.
    pk = 0
    for conversation in range(1, conversations + 1):
        if rng.random() < 0.3:
            pk += 1
            sent = _opened(rng, now)
            answered = rng.random() < 0.6
            score = str(rng.choice([1, 2, 3, 4, 4, 5, 5, 5])) if answered else NULL
            answered_at = _t(sent + timedelta(hours=2)) if answered else NULL
            yield (f"{pk}\tsurvey{pk}\t{score}\t\t{_t(sent)}\t{answered_at}\t{conversation}\n")


def _message_rows(
    rng: random.Random, count: int, customers: int, campaign_ids: list[int], now: datetime
) -> Iterator[str]:
    for pk in range(1, count + 1):
        sent = _opened(rng, now)
        roll = rng.random()
        if roll < 0.6:
            kind, journey, campaign = "marketing", "", str(rng.choice(campaign_ids))
        elif roll < 0.7:
            kind, journey, campaign = "marketing", "cart", NULL
        else:
            kind, journey, campaign = "service", "", NULL
        yield (
            f"{pk}\tbench:{pk}\t{kind}\tnewsletter\temail\t{journey}\tNews\tx\t{{}}\t[]\tbench:{pk}\tsent"
            f"\t{_t(sent)}\t1\t{_t(sent)}\t<m{pk}@bench.regard>\tc@example.org\tallow\t[]\t\tf\t{_t(sent)}"
            f"\t{campaign}\t{rng.randint(1, customers)}\n"
        )


def _withdrawal_rows(rng: random.Random, messages: int, customers: int, now: datetime) -> Iterator[str]:
    for pk in range(1, messages // 200 + 1):
        moment = _opened(rng, now)
        proof = json.dumps({"message_id": f"<m{rng.randint(1, messages)}@bench.regard>"})
        yield (
            f"{pk}\tnewsletter\temail\twithdrawn\t{_t(moment)}\t{_t(moment)}\tunsubscribe_link\t{proof}"
            f"\t{rng.randint(1, customers)}\n"
        )


def _complaint_rows(rng: random.Random, messages: int, customers: int, now: datetime) -> Iterator[str]:
    for pk in range(1, messages // 1000 + 1):
        yield (
            f"{pk}\tcomplaint\tapplied\tbench\t\tfbl@bench.regard\t\t{_t(_opened(rng, now))}"
            f"\t{rng.randint(1, customers)}\t{rng.randint(1, messages)}\n"
        )


def _order_rows(rng: random.Random, count: int, customers: int, now: datetime) -> Iterator[str]:
    for pk in range(1, count + 1):
        moment = now - timedelta(seconds=rng.randrange(2 * HISTORY_DAYS * 86_400))
        yield f"{pk}\tB-{pk}\t{_t(moment)}\tEUR\tbench\t{_t(moment)}\t{rng.randint(1, customers)}\n"


# -- measuring (under Django, in a child process) ---------------------------------------------


def measure(*, raw: bool) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from regard.insights.models import ServiceDay
    from regard.insights.selectors.dashboard import dashboard_filters, service_dashboard
    from regard.insights.services.rollups import dashboard_rollup_build
    from regard.privacy.roles import Role
    from regard.privacy.services import user_create

    now = timezone.now()
    manager = user_create(username="bench-manager", password=None, roles=[Role.MANAGER])
    filters = dashboard_filters(since=None, until=None, now=now)

    def timed(what: object) -> float:
        started = time.perf_counter()
        what() if callable(what) else None
        return time.perf_counter() - started

    def count_all() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM support_conversation")

    def count_period() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM support_conversation WHERE created_at >= %s AND created_at < %s",
                [filters.since, filters.until],
            )

    today = now.astimezone(UTC).date()
    started = time.perf_counter()
    days = dashboard_rollup_build(first_day=today - timedelta(days=HISTORY_DAYS + 1), last_day=today, now=now)
    built = time.perf_counter() - started
    print(
        f"rollups built for {len(days)} days in {built:.1f} s ({ServiceDay.objects.count():,} service rows)"
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE insights_serviceday, insights_campaignday, insights_rollupday")

    client = Client()
    client.force_login(manager)
    # The process's own first request (imports, URL resolvers) is not the dashboard's load.
    assert client.get("/healthz", secure=True).status_code == 200
    rows: list[tuple[str, float, float]] = []

    def series(label: str, what: object) -> None:
        first = timed(what)
        rest = [timed(what) for _ in range(REPEATS)]
        rows.append((label, first, statistics.median(rest)))

    series("SELECT count(*) FROM support_conversation (reference)", count_all)
    series("SELECT count(*) … the period's conversations", count_period)
    data: dict[str, object] = {}

    def selector() -> None:
        data.update(service_dashboard(actor=manager, filters=filters))

    series("service_dashboard, 90 days, rollups", selector)

    def page() -> None:
        response = client.get("/insights/dashboard/", secure=True)
        assert response.status_code == 200, response.status_code

    series("GET /insights/dashboard/, 90 days, rollups", page)
    reference = rows[0][2]
    print(f"\n{'what':<58} {'first s':>9} {'p50 s':>9} {'p50 / reference':>16}")
    for label, first, median in rows:
        print(f"{label:<58} {first:>9.3f} {median:>9.3f} {median / reference:>15.1f}×")
    overall = data["overall"]
    assert isinstance(overall, dict)
    print(f"period: {overall['conversations']:,} conversations; sources: {data['sources']}")
    if raw:
        from tests.insights.dashboard_reference import reference_dashboard

        started = time.perf_counter()
        exact = reference_dashboard(filters)
        took = time.perf_counter() - started
        print(
            f"{'raw computation from the records (the reference code)':<58} {took:>9.3f} {'':>9} {took / reference:>15.1f}×"
        )
        same = all(
            exact["overall"][k] == overall[k] for k in ("conversations", "sla_attainment", "satisfaction")
        )
        by_name = sorted(
            exact["campaigns"], key=lambda c: (-c["sent"], c["campaign"])
        )  # ties: database order
        same = same and by_name == data["campaigns"] and exact["pressure"] == data["pressure"]
        same = same and exact["retention"] == data["retention"]
        print(f"rollup figures equal the raw computation (counts, rates): {'yes' if same else 'NO'}")
    page_first = rows[3][1]
    print(
        f"dashboard page first load {page_first:.3f} s: {'meets' if page_first <= GOAL_SECONDS else 'MISSES'} the ≤ {GOAL_SECONDS:.0f} s goal"
    )
