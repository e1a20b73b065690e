"""The customer mirror under loopback load, beside /healthz of the same server (issue 12).

The timeline benchmark's loader writes 1,000,000 customers × scale and 10,000,000 timeline
events × scale into a fresh database migrated by `regard migrate`. One customer then gets a
long history of their own: 10,000 more timeline events, 2,000 outbox messages over two years
(sent, dropped and held with gate reasons), 40 conversations of 10 messages with SLA targets,
promises, consent events and feedback mail. `regard web` serves it and the timeline
benchmark's keep-alive load generator measures, one after another in the same run:

    GET /healthz                                          the reference: one SELECT 1
    GET /api/v1/customers/{id}/mirror                      the default period (90 days)
    GET /api/v1/customers/{id}/mirror?since=<2 years ago>  the longest period allowed
    GET /api/v1/customers/{id}/mirror?since=…&until=…      90 days ending a second earlier each
                                                          time: a mirror computed every request

A server process remembers the last mirrors it computed while the rows they read are
unchanged (`insights.selectors.mirror.cache`), so the first two mostly measure that; the
third never meets a remembered one, and the first request for each period is timed alone.

Goal: p95 ≤ 100 ms through the API.

    python -m tests.bench.run --only mirror --scale 0.1

Knobs as for the timeline benchmark: REGARD_BENCH_PG, REGARD_BENCH_WORKERS,
REGARD_BENCH_CONNECTIONS, REGARD_BENCH_KEEP=1.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg

from tests.bench import bench_timeline as timeline

DATABASE = "regard_bench_mirror"
GOAL_P95_MS = 100.0
SUBJECT_EVENTS = 10_000
SUBJECT_MESSAGES = 2_000
SUBJECT_CONVERSATIONS = 40
ROOT = Path(__file__).resolve().parents[2]


def run(scale: float) -> None:
    customers = max(1_000, round(timeline.FULL_CUSTOMERS * scale))
    events = max(10_000, round(timeline.FULL_EVENTS * scale))
    seconds = max(5.0, timeline.FULL_SECONDS * scale)
    database_url = f"{timeline.PG_SERVER}/{DATABASE}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REGARD_DEBUG": "0",
        "REGARD_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "regard.config.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    print(f"uptime before: {_uptime()}", flush=True)
    _database_recreate()
    server: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        subprocess.run([timeline.REGARD, "migrate", "--verbosity", "0"], env=env, check=True)
        print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        timeline._load(database_url, customers=customers, events=events)
        print(
            f"loaded {customers:,} customers and {events:,} timeline events with COPY "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        subprocess.run(
            [timeline.REGARD, "user", "create", "bench", "--role", "admin"],
            env=env,
            check=True,
            capture_output=True,
        )
        token = subprocess.run(
            [timeline.REGARD, "token", "create", "--user", "bench"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        started = time.perf_counter()
        subject = random.Random(12).randint(1, customers)
        subprocess.run(
            [sys.executable, "-c", f"from tests.bench.bench_mirror import history; history({subject})"],
            env=env,
            check=True,
        )
        print(
            f"customer {subject}'s own history written in {time.perf_counter() - started:.1f} s", flush=True
        )
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM customers_timelineevent WHERE customer_id = %(c)s),"
                " (SELECT count(*) FROM outreach_outboxmessage WHERE customer_id = %(c)s),"
                " (SELECT count(*) FROM support_message m JOIN support_conversation c"
                "  ON c.id = m.conversation_id WHERE c.customer_id = %(c)s)",
                {"c": subject},
            ).fetchone()
        print(f"customer {subject}: {counts[0]:,} timeline events, {counts[1]:,} outbox messages, "
              f"{counts[2]:,} support messages", flush=True)  # fmt: skip

        port = timeline._free_port()
        server = subprocess.Popen(
            [
                timeline.REGARD,
                "web",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(timeline.WORKERS),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        timeline._wait_healthy(port, server)
        results, first = asyncio.run(_measure_all(port=port, token=token, subject=subject, seconds=seconds))
        _print_table(results, first, seconds=seconds)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if not os.environ.get("REGARD_BENCH_KEEP"):
            _database_drop()
        print(f"uptime after: {_uptime()}", flush=True)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _database_recreate() -> None:
    with timeline._admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def _database_drop() -> None:
    with timeline._admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


# -- one customer's long history (runs under Django in a subprocess) -------------------------


def history(customer_id: int) -> None:
    """Write the subject's history: bulk rows for volume, services for conversations and promises."""
    import django

    django.setup()
    from django.contrib.auth.models import User

    from regard.consent.services import consent_grant, consent_withdraw, preferences_set
    from regard.customers.models import Customer, TimelineEvent
    from regard.outreach.models import OutboxMessage
    from regard.policies.services.promises import promise_break_if_due, promise_record
    from regard.support import services as support_services
    from regard.support.models import SlaPolicy
    from regard.support.sla import sla_recompute

    rng = random.Random(2026)
    now = datetime.now(UTC)
    customer = Customer.objects.get(pk=customer_id)
    agent = User.objects.get(username="bench")
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                customer=customer,
                kind=rng.choice(("message.sent", "web.visit", "conversation.opened", "order.recorded")),
                channel="email",
                summary="bench history",
                occurred_at=(moment := now - timedelta(seconds=rng.randrange(2 * 365 * 86_400))),
                recorded_at=moment,
            )
            for _ in range(SUBJECT_EVENTS)
        ],
        batch_size=2_000,
    )
    quiet = [{"code": "quiet_hours", "detail": "night-time"}]
    excluded = [{"code": "topic_excluded", "detail": "customer excluded solar"}]
    rows = []
    for index in range(SUBJECT_MESSAGES):
        created = now - timedelta(seconds=rng.randrange(729 * 86_400))
        kind = "marketing" if index % 3 else "service"
        state, outcome, reasons, sent = "sent", "allow", [], created
        if index % 20 == 0:
            state, outcome, reasons, sent = "dropped", "drop", excluded, None
        elif index % 20 == 1:
            state, outcome, reasons, sent = "pending", "hold", quiet, None
        rows.append(
            OutboxMessage(
                dedupe_key=f"bench-mirror:{index}",
                customer=customer,
                kind=kind,
                purpose="newsletter" if kind == "marketing" else "service",
                channel="email" if index % 7 else "sms",
                content_key=f"bench-mirror:{index}",
                state=state,
                due_at=created,
                sent_at=sent,
                gate_outcome=outcome,
                gate_reasons=reasons,
                created_at=created,
            )
        )
    OutboxMessage.objects.bulk_create(rows, batch_size=1_000)
    SlaPolicy.objects.create(first_response_minutes=480, next_response_minutes=240, resolution_minutes=2400)
    for index in range(SUBJECT_CONVERSATIONS):
        opened = now - timedelta(days=85 - 2 * index, hours=rng.randrange(8))
        conversation = support_services.conversation_open(
            customer=customer,
            channel=("email", "chat", "phone")[index % 3],
            kind="complaint" if index % 5 == 0 else "question",
            subject=f"Question {index}",
            via="api",
            now=opened,
        )
        moment = opened
        for turn in range(5):
            support_services.message_receive(
                conversation=conversation, body_text=f"Message {turn} about ACC-{index}", now=moment
            )
            moment += timedelta(hours=rng.randrange(1, 30))
            support_services.reply_send(
                actor=agent, conversation=conversation, body_text=f"Hello, answer {turn}.", override=True,
                via="api", now=moment,
            )  # fmt: skip
            moment += timedelta(hours=rng.randrange(1, 10))
        sla_recompute(conversation_id=conversation.pk, now=opened)
        if index % 4 == 0:
            promise = promise_record(
                customer=customer, kind="callback", what=f"Call back about {index}", owner=agent, actor=agent,
                conversation=conversation, due_at=opened + timedelta(days=1), via="api", now=opened,
            )  # fmt: skip
            promise_break_if_due(promise_id=promise.pk, now=opened + timedelta(days=2))
    consent_grant(
        actor=None, customer=customer, purpose="newsletter", channel="email", source="form",
        now=now - timedelta(days=400),
    )  # fmt: skip
    consent_withdraw(
        actor=None, customer=customer, purpose="newsletter", channel="email", source="unsubscribe_link",
        now=now - timedelta(days=20),
    )  # fmt: skip
    preferences_set(actor=None, customer=customer, max_messages_per_week=3, now=now - timedelta(days=300))


# -- measuring --------------------------------------------------------------------------------


async def _measure_all(
    *, port: int, token: str, subject: int, seconds: float
) -> tuple[list[timeline.Result], dict[str, float]]:
    started = datetime.now(UTC).replace(microsecond=0)
    since = quote((started - timedelta(days=729)).isoformat())
    counter = itertools.count(1)

    def new_period() -> str:
        # A period no request asked before (one second earlier each time): never a remembered mirror.
        until = started - timedelta(seconds=next(counter))
        return (
            f"/api/v1/customers/{subject}/mirror?since={quote((until - timedelta(days=90)).isoformat())}"
            f"&until={quote(until.isoformat())}"
        )

    plan = (
        ("GET /healthz", lambda: "/healthz"),
        ("GET …/mirror (90 days)", lambda: f"/api/v1/customers/{subject}/mirror"),
        ("GET …/mirror (2 years)", lambda: f"/api/v1/customers/{subject}/mirror?since={since}"),
        ("GET …/mirror (90 d, new each)", new_period),
    )
    results = []
    first: dict[str, float] = {}
    for endpoint, next_path in plan:
        if "mirror" in endpoint:
            # The first request for a period computes its mirror: what one costs without a remembered one.
            first[endpoint] = _one_request(port, token, next_path())
        print(f"measuring {endpoint} for {seconds:.0f} s …", flush=True)
        results.append(
            await timeline._measure(
                endpoint=endpoint, port=port, token=token, next_path=next_path, seconds=seconds
            )
        )
    return results, first


def _one_request(port: int, token: str, path: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        took = (time.perf_counter() - started) * 1000
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")
    return took


def _print_table(results: list[timeline.Result], first: dict[str, float], *, seconds: float) -> None:
    reference = results[0].percentile(95)
    print(
        f"\n{timeline.CONNECTIONS} keep-alive connections, {timeline.WORKERS} uvicorn worker(s), "
        f"{seconds:.0f} s per endpoint; goal p95 ≤ {GOAL_P95_MS:.0f} ms for the mirror"
    )
    header = f"{'endpoint':<28} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(header + f" {'p95/healthz':>12} {'errors':>7}")
    for result in results:
        p95 = result.percentile(95)
        print(
            f"{result.endpoint:<28} {len(result.latencies_ms):>9,} "
            f"{len(result.latencies_ms) / result.seconds:>8,.0f} {result.percentile(50):>8.1f} "
            f"{p95:>8.1f} {result.percentile(99):>8.1f} {p95 / reference:>11.1f}× {result.errors:>7}"
        )
    for endpoint, took in first.items():
        print(f"{endpoint}: first request (nothing remembered, one at a time) {took:.1f} ms")
    for result in results[1:]:
        verdict = "meets" if result.percentile(95) <= GOAL_P95_MS else "MISSES"
        print(f"{result.endpoint}: {verdict} the p95 goal")
