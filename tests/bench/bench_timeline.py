"""Timeline and resolve latency under loopback load, beside /healthz of the same server (issue 3).

1,000,000 customers × scale, one email each, and 10,000,000 timeline events × scale are
written with PostgreSQL COPY into a fresh database migrated by `regard migrate`. Then
`regard web` serves it and a keep-alive asyncio load generator measures, one endpoint
after another in the same run:

    GET /api/v1/customers/{id}/timeline            a random customer's newest 50 events
    GET /api/v1/customers/resolve?kind=email&...   a random customer's email
    GET /healthz                                   the reference: one SELECT 1

Goal: p95 ≤ 50 ms for timeline and resolve.

    python -m tests.bench.run --only timeline --scale 0.01

Environment knobs: REGARD_BENCH_PG (server URL, default postgres://postgres@127.0.0.1:5432),
REGARD_BENCH_WORKERS (uvicorn workers, default 2), REGARD_BENCH_CONNECTIONS (default 8).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

PG_SERVER = os.environ.get("REGARD_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DATABASE = "regard_bench_timeline"
WORKERS = int(os.environ.get("REGARD_BENCH_WORKERS", "2"))
CONNECTIONS = int(os.environ.get("REGARD_BENCH_CONNECTIONS", "8"))
FULL_CUSTOMERS = 1_000_000
FULL_EVENTS = 10_000_000
FULL_SECONDS = 30.0
GOAL_P95_MS = 50.0
CHUNK_ROWS = 200_000
REGARD = str(Path(sys.executable).with_name("regard"))

GIVEN_NAMES = [
    "Anna",
    "Ingrid",
    "Lars",
    "Sofia",
    "Jonas",
    "Mia",
    "Emil",
    "Olga",
    "Pierre",
    "Chloé",
    "Mateo",
    "Lucía",
    "Yuki",
    "Hiroshi",
    "Aisha",
    "Omar",
    "Priya",
    "Arjun",
    "Zofia",
    "Tomasz",
    "Kofi",
    "Ama",
    "Leila",
    "Reza",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Mei",
    "Wei",
    "Sipho",
    "Thandi",
]
FAMILY_NAMES = [
    "Solheim",
    "Weber",
    "Rossi",
    "García",
    "Tanaka",
    "Kowalski",
    "Mensah",
    "Haddad",
    "Sharma",
    "Dubois",
    "Novak",
    "Silva",
    "Jensen",
    "Okafor",
    "Kim",
    "Nguyen",
    "Petrov",
    "Müller",
    "Costa",
    "Laine",
    "Moreau",
    "Ivanova",
    "Chen",
    "Ferreira",
    "Andersen",
    "Bakker",
]
PLACES = (
    ("Bergen", "NO", "nb", "Europe/Oslo"),
    ("München", "DE", "de", "Europe/Berlin"),
    ("Lyon", "FR", "fr", "Europe/Paris"),
    ("Sevilla", "ES", "es", "Europe/Madrid"),
    ("Osaka", "JP", "ja", "Asia/Tokyo"),
    ("Kraków", "PL", "pl", "Europe/Warsaw"),
    ("Accra", "GH", "en", "Africa/Accra"),
    ("Pune", "IN", "en", "Asia/Kolkata"),
    ("Toronto", "CA", "en", "America/Toronto"),
)
EVENT_KINDS = (
    ("message.out", "email", "Newsletter: spring offers"),
    ("message.out", "email", "Receipt for order"),
    ("message.in", "email", "Question about delivery"),
    ("message.in", "chat", "Chat: where is my parcel?"),
    ("order.recorded", "web", "Order: Wireless earphones"),
    ("consent.granted", "web", "Newsletter consent granted"),
    ("web.visit", "web", "Visited /products/earphones"),
    ("call.logged", "phone", "Call: warranty question"),
)


def run(scale: float) -> None:
    customers = max(1_000, round(FULL_CUSTOMERS * scale))
    events = max(10_000, round(FULL_EVENTS * scale))
    seconds = max(5.0, FULL_SECONDS * scale)
    database_url = f"{PG_SERVER}/{DATABASE}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REGARD_DEBUG": "0",
        "REGARD_ALLOWED_HOSTS": "127.0.0.1",
    }
    _database_recreate()
    server: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        subprocess.run([REGARD, "migrate", "--verbosity", "0"], env=env, check=True)
        print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)

        started = time.perf_counter()
        _load(database_url, customers=customers, events=events)
        took = time.perf_counter() - started
        rows = 2 * customers + events
        print(
            f"loaded {customers:,} customers, {customers:,} emails, {events:,} events with COPY "
            f"in {took:.1f} s ({rows / took:,.0f} rows/s, indexes and ANALYZE included)",
            flush=True,
        )

        subprocess.run(
            [REGARD, "user", "create", "bench", "--role", "admin"], env=env, check=True, capture_output=True
        )
        token = subprocess.run(
            [REGARD, "token", "create", "--user", "bench"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

        port = _free_port()
        server = subprocess.Popen(
            [REGARD, "web", "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        _wait_healthy(port, server)

        load_before = os.getloadavg()[0]
        results = asyncio.run(_measure_all(port=port, token=token, customers=customers, seconds=seconds))
        _print_table(results, seconds=seconds)
        # The machine may be shared: the load says how much of it the server really had.
        print(
            f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs"
        )
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


# -- the database ---------------------------------------------------------------------------


def _admin_connect() -> psycopg.Connection:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def _database_recreate() -> None:
    with _admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def _database_drop() -> None:
    with _admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


TABLES = ("customers_customer", "customers_identifier", "customers_timelineevent")


def _load(database_url: str, *, customers: int, events: int) -> None:
    """COPY the rows in one transaction with the secondary indexes and constraints set aside.

    The bulk-load recipe from PostgreSQL's "Populating a Database": the tables are truncated
    in the same transaction so COPY FREEZE writes rows already visible to all (no hint-bit
    writes or vacuum during the measurement); every index and constraint the migrations made
    is dropped first and recreated from its own definition afterwards, which also validates
    every foreign key and unique constraint against the loaded rows.
    """
    rng = random.Random(20261123)
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(database_url) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        restore = _set_aside_indexes_and_constraints(conn)
        with conn.cursor() as cursor:
            _copy(
                cursor,
                "customers_customer (id, preferred_name, formality, salutation, given_name, family_name,"
                " street, locality, postcode, region, country, language, time_zone, search_text, source,"
                " created_at, updated_at)",
                _customer_rows(rng, customers, now),
            )
            _copy(
                cursor,
                "customers_identifier (id, customer_id, kind, value_raw, value_normalised, source,"
                " first_seen_at)",
                _identifier_rows(customers, now),
            )
            _copy(
                cursor,
                "customers_timelineevent (id, customer_id, kind, channel, summary, occurred_at,"
                " recorded_at, subject_type, subject_id, data)",
                _event_rows(rng, customers, events, now),
            )
            for statement in restore:
                cursor.execute(statement)
            for table in TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ANALYZE {', '.join(TABLES)}")


def _set_aside_indexes_and_constraints(conn: psycopg.Connection) -> list[str]:
    """Drop secondary indexes, unique and foreign-key constraints; return the SQL that recreates them."""
    drop: list[str] = []
    create_indexes: list[str] = []
    add_constraints: list[str] = []
    for table in TABLES:
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
            [table],
        ).fetchall()
        for name, definition in constraints:
            drop.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            add_constraints.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        indexes = conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [table],
        ).fetchall()
        for name, definition in indexes:
            drop.append(f'DROP INDEX "{name}"')
            create_indexes.append(definition)
    for statement in drop:
        conn.execute(statement)
    return create_indexes + add_constraints


def _copy(cursor: psycopg.Cursor, target: str, chunks: Iterator[str]) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN WITH (FREEZE)") as copy:
        for chunk in chunks:
            copy.write(chunk)


def _customer_rows(rng: random.Random, count: int, now: datetime) -> Iterator[str]:
    created = (now - timedelta(days=900)).isoformat()
    tails = []
    for _ in range(4_096):
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        locality, country, language, zone = rng.choice(PLACES)
        formality = rng.choice(("informal", "formal", "neutral"))
        search = f"{given} {given} {family}".lower()
        tails.append(
            f"{given}\t{formality}\t\t{given}\t{family}\t\t{locality}\t\t\t{country}\t{language}\t{zone}"
            f"\t{search}\tbench\t{created}\t{created}\n"
        )
    for start in range(1, count + 1, CHUNK_ROWS):
        ids = range(start, min(start + CHUNK_ROWS, count + 1))
        yield "".join([f"{i}\t{tail}" for i, tail in zip(ids, rng.choices(tails, k=len(ids)), strict=True)])


def _email(customer_id: int) -> str:
    return f"customer{customer_id}@example.org"


def _identifier_rows(count: int, now: datetime) -> Iterator[str]:
    seen = (now - timedelta(days=900)).isoformat()
    for start in range(1, count + 1, CHUNK_ROWS):
        yield "".join(
            [
                f"{i}\t{i}\temail\t{_email(i)}\t{_email(i)}\tbench\t{seen}\n"
                for i in range(start, min(start + CHUNK_ROWS, count + 1))
            ]
        )


def _event_rows(rng: random.Random, customers: int, count: int, now: datetime) -> Iterator[str]:
    """Events spread at random over customers (about 10 each) and over the last three years."""
    span = 3 * 365 * 86_400
    tails = []
    for _ in range(65_536):
        kind, channel, summary = rng.choice(EVENT_KINDS)
        moment = (now - timedelta(seconds=rng.randrange(span))).isoformat()
        tails.append(f"{kind}\t{channel}\t{summary}\t{moment}\t{moment}\t\t\t{{}}\n")
    customer_ids = range(1, customers + 1)
    for start in range(1, count + 1, CHUNK_ROWS):
        ids = range(start, min(start + CHUNK_ROWS, count + 1))
        owners = rng.choices(customer_ids, k=len(ids))
        picked = rng.choices(tails, k=len(ids))
        yield "".join([f"{i}\t{c}\t{t}" for i, c, t in zip(ids, owners, picked, strict=True)])


# -- the server -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"regard web exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("regard web did not become healthy in time")


# -- the load generator ---------------------------------------------------------------------


@dataclass
class Result:
    endpoint: str
    latencies_ms: list[float]
    errors: int
    seconds: float

    def percentile(self, p: float) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=1000, method="inclusive")[round(p * 10) - 1]


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a kept-alive connection: status and body."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(parts)
    else:
        body = b""
    return status, body


async def _connection(
    port: int, token: str, next_path: Callable[[], str], deadline: float, result: Result
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            request = (
                f"GET {next_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            status, _ = await _request(reader, writer, request)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            if status != 200:
                result.errors += 1
    finally:
        writer.close()


async def _measure(
    *, endpoint: str, port: int, token: str, next_path: Callable[[], str], seconds: float
) -> Result:
    warmup = Result(endpoint, [], 0, 1.0)
    deadline = time.perf_counter() + 1.0
    await asyncio.gather(*(_connection(port, token, next_path, deadline, warmup) for _ in range(CONNECTIONS)))
    result = Result(endpoint, [], 0, seconds)
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_connection(port, token, next_path, deadline, result) for _ in range(CONNECTIONS)))
    return result


async def _measure_all(*, port: int, token: str, customers: int, seconds: float) -> list[Result]:
    rng = random.Random(7)

    def timeline() -> str:
        return f"/api/v1/customers/{rng.randint(1, customers)}/timeline"

    def resolve() -> str:
        return f"/api/v1/customers/resolve?kind=email&value={_email(rng.randint(1, customers))}"

    def healthz() -> str:
        return "/healthz"

    plan = (
        ("GET /healthz", healthz),
        ("GET /api/v1/customers/{id}/timeline", timeline),
        ("GET /api/v1/customers/resolve", resolve),
    )
    results = []
    for endpoint, next_path in plan:
        print(f"measuring {endpoint} for {seconds:.0f} s …", flush=True)
        results.append(
            await _measure(endpoint=endpoint, port=port, token=token, next_path=next_path, seconds=seconds)
        )
    return results


def _print_table(results: list[Result], *, seconds: float) -> None:
    reference = results[0].percentile(95)
    print(
        f"\n{CONNECTIONS} keep-alive connections, {WORKERS} uvicorn worker(s), {seconds:.0f} s per endpoint;"
        f" goal p95 ≤ {GOAL_P95_MS:.0f} ms for timeline and resolve"
    )
    header = f"{'endpoint':<38} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(header + f" {'p95/healthz':>12} {'errors':>7}")
    for result in results:
        p95 = result.percentile(95)
        print(
            f"{result.endpoint:<38} {len(result.latencies_ms):>9,} "
            f"{len(result.latencies_ms) / result.seconds:>8,.0f} {result.percentile(50):>8.1f} "
            f"{p95:>8.1f} {result.percentile(99):>8.1f} {p95 / reference:>11.1f}× {result.errors:>7}"
        )
    for result in results[1:]:
        verdict = "meets" if result.percentile(95) <= GOAL_P95_MS else "MISSES"
        print(f"{result.endpoint}: {verdict} the p95 goal")
