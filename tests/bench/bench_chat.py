"""Chat latency: a customer's message reaching the agent's live inbox, beside a bare Channels relay (issue 5).

1,000 customer websockets × scale stay connected to `regard web` (uvicorn, 2 workers, the
Redis channel layer, PostgreSQL) on loopback; one agent socket is signed in to the live inbox.
Each customer says hello, sends a first message (which opens a conversation: a new profile, a
conversation, the timeline, hooks), then keeps chatting at a person's pace: messages at random
(Poisson) times, on average one every 20 s per customer, for 45 s × scale (at least 10 s).
Latency is from the customer's send to the agent socket receiving the inbox event with that
message, measured in this process on one clock.

The reference is the same traffic through a bare Channels relay (tests/bench/chat_echo.py: a
consumer that group_sends the text to the agent's socket, no database) served the same way,
in the same run and the same channel layer. Both channels-redis layers are measured, each in
a fresh database made from one migrated template. Goal: p95 ≤ 50 ms.

    python -m tests.bench.run --only chat --scale 0.05

Knobs: REGARD_BENCH_PG (server URL), REGARD_BENCH_REDIS (default redis://127.0.0.1:6379/7, flushed),
REGARD_BENCH_CHAT_LAYERS (default "pubsub,lists"), REGARD_BENCH_WORKERS (default 2),
REGARD_BENCH_CHAT_INTERVAL (mean seconds between a customer's messages, default 20),
REGARD_BENCH_CHAT_SPREAD (seconds over which the first messages arrive, default 20; × scale).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PG_SERVER = os.environ.get("REGARD_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("REGARD_BENCH_REDIS", "redis://127.0.0.1:6379/7")
LAYERS = [
    x.strip() for x in os.environ.get("REGARD_BENCH_CHAT_LAYERS", "pubsub,lists").split(",") if x.strip()
]
WORKERS = int(os.environ.get("REGARD_BENCH_WORKERS", "2"))
DATABASE = "regard_bench_chat"
TEMPLATE = "regard_bench_chat_template"
FULL_CLIENTS = 1_000
FULL_SECONDS = 45.0
MEAN_INTERVAL_SECONDS = float(os.environ.get("REGARD_BENCH_CHAT_INTERVAL", "20"))
FIRST_MESSAGE_SPREAD_SECONDS = float(os.environ.get("REGARD_BENCH_CHAT_SPREAD", "20"))
GOAL_P95_MS = 50.0
CONNECT_CONCURRENCY = 50
REGARD = str(Path(sys.executable).with_name("regard"))

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from regard.privacy.roles import Role
from regard.privacy.services import user_create
from regard.support.models import ChatSite
agent = user_create(username="bench-agent", password=None, roles=[Role.AGENT])
session = SessionStore()
session[SESSION_KEY] = str(agent.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
session.create()
ChatSite.objects.create(name="Bench shop", key="bench-shop", secret="bench", allowed_origins=[])
print(json.dumps({"session": session.session_key}))
"""


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Result:
    layer: str
    server: str
    phases: list[Phase]


def run(scale: float) -> None:
    clients = max(20, round(FULL_CLIENTS * scale))
    seconds = max(10.0, FULL_SECONDS * scale)
    spread = max(5.0, FIRST_MESSAGE_SPREAD_SECONDS * scale)
    _raise_open_files(clients * 2 + 200)
    print(
        f"{clients} customer sockets + 1 agent socket, {WORKERS} uvicorn workers, first messages over"
        f" {spread:.0f} s, then {seconds:.0f} s at one message per {MEAN_INTERVAL_SECONDS:.0f} s per customer",
        flush=True,
    )
    base_env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "REGARD_DEBUG": "0",
        "REGARD_ALLOWED_HOSTS": "127.0.0.1",
        "REGARD_LOG_LEVEL": "WARNING",
    }
    _template_create(base_env)
    results: list[Result] = []
    load_before = os.getloadavg()[0]
    try:
        for layer in LAYERS:
            env = {**base_env, "REGARD_REDIS_LAYER": layer, "DATABASE_URL": f"{PG_SERVER}/{DATABASE}"}
            redis.Redis.from_url(REDIS_URL).flushdb()
            echo = _serve(["-m", "uvicorn", "tests.bench.chat_echo:application"], env)
            try:
                phases = asyncio.run(_load_echo(echo.port, clients=clients, seconds=seconds, spread=spread))
            finally:
                echo.stop()
            results.append(Result(layer, "bare Channels relay", phases))
            _database_from_template()
            session = json.loads(
                subprocess.run(
                    [REGARD, "shell", "-c", SETUP], env=env, check=True, capture_output=True, text=True
                )
                .stdout.strip()
                .splitlines()[-1]
            )["session"]
            redis.Redis.from_url(REDIS_URL).flushdb()
            web = _serve(["-m", "regard.config.cli", "web"], env, regard=True)
            try:
                phases = asyncio.run(
                    _load_regard(web.port, session=session, clients=clients, seconds=seconds, spread=spread)
                )
            finally:
                web.stop()
            results.append(Result(layer, "Regard chat → inbox", phases))
            _print_table(results)
    finally:
        _databases_drop()
    print(
        f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs;"
        f" goal p95 ≤ {GOAL_P95_MS:.0f} ms"
    )


def _print_table(results: list[Result]) -> None:
    reference: dict[tuple[str, str], float] = {}
    for result in results:
        if result.server.startswith("bare"):
            for phase in result.phases:
                reference[(result.layer, phase.name)] = phase.percentile(0.95)
    print("\n| layer | server | messages | received | p50 ms | p95 ms | p99 ms | p95 / relay |")
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        for phase in result.phases:
            p95 = phase.percentile(0.95)
            ratio = (
                p95 / reference[(result.layer, phase.name)]
                if (result.layer, phase.name) in reference
                else 1.0
            )
            print(
                f"| {result.layer} | {result.server}, {phase.name} | {phase.sent} | {len(phase.latencies_ms)}"
                f" | {phase.percentile(0.5):.1f} | {p95:.1f} | {phase.percentile(0.99):.1f} | {ratio:.1f}× |",
                flush=True,
            )


# -- load -----------------------------------------------------------------------------------


async def _connect_all(
    count: int, opener: Callable[[int], Awaitable[ClientConnection]]
) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(index: int) -> ClientConnection:
        async with gate:
            return await opener(index)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _close_all(sockets: list[ClientConnection]) -> None:
    # Together and bounded: one by one, a busy server's closing handshakes would take minutes.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(s.close() for s in sockets), return_exceptions=True), 15)


async def _drain(socket: ClientConnection) -> None:
    try:
        async for _ in socket:
            pass
    except Exception:
        return


async def _traffic(
    sockets: list[ClientConnection],
    frame: Callable[[str], str],
    sent_at: dict[str, float],
    phases: dict[str, Phase],
    *,
    seconds: float,
    spread: float,
) -> None:
    rng = random.Random(7)

    async def customer(index: int, socket: ClientConnection) -> None:
        await asyncio.sleep(rng.uniform(0, spread))
        token = f"bench-{index}-0"
        sent_at[token] = time.perf_counter()
        phases["first message"].sent += 1
        with contextlib.suppress(ConnectionClosed):
            await socket.send(frame(token))

    await asyncio.gather(*(customer(i, s) for i, s in enumerate(sockets)))
    await asyncio.sleep(2.0)

    async def chatter(index: int, socket: ClientConnection) -> None:
        started = time.monotonic()
        sequence = 1
        while True:
            await asyncio.sleep(rng.expovariate(1 / MEAN_INTERVAL_SECONDS))
            if time.monotonic() - started > seconds:
                return
            token = f"bench-{index}-{sequence}"
            sequence += 1
            sent_at[token] = time.perf_counter()
            phases["follow-up"].sent += 1
            try:
                await socket.send(frame(token))
            except ConnectionClosed:
                return  # counted as sent and never received: it shows in the table

    await asyncio.gather(*(chatter(i, s) for i, s in enumerate(sockets)))
    await asyncio.sleep(3.0)


def _record(token: str, sent_at: dict[str, float], phases: dict[str, Phase]) -> None:
    started = sent_at.pop(token, None)
    if started is not None:
        phase = phases["first message"] if token.endswith("-0") else phases["follow-up"]
        phase.latencies_ms.append((time.perf_counter() - started) * 1000)


async def _load_echo(port: int, *, clients: int, seconds: float, spread: float) -> list[Phase]:
    url = f"ws://127.0.0.1:{port}/echo/"
    phases = {"first message": Phase("first message"), "follow-up": Phase("follow-up")}
    sent_at: dict[str, float] = {}
    agent = await connect(url + "?role=agent", max_queue=None, ping_interval=None)

    async def listen() -> None:
        async for text in agent:
            _record(str(text), sent_at, phases)

    listener = asyncio.create_task(listen())
    sockets = await _connect_all(clients, lambda i: connect(url, max_queue=None, ping_interval=None))
    drains = [asyncio.create_task(_drain(s)) for s in sockets]
    await _traffic(sockets, lambda token: token, sent_at, phases, seconds=seconds, spread=spread)
    await _close_all([*sockets, agent])
    listener.cancel()
    for task in drains:
        task.cancel()
    return list(phases.values())


async def _load_regard(
    port: int, *, session: str, clients: int, seconds: float, spread: float
) -> list[Phase]:
    base = f"ws://127.0.0.1:{port}"
    origin = f"http://127.0.0.1:{port}"
    phases = {"first message": Phase("first message"), "follow-up": Phase("follow-up")}
    sent_at: dict[str, float] = {}
    agent = await connect(
        f"{base}/ws/support/inbox/",
        origin=origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={session}"},
        max_queue=None,
        ping_interval=None,
    )

    async def listen() -> None:
        async for raw in agent:
            frame = json.loads(raw)
            message = frame.get("message") if frame.get("type") == "event" else None
            if message and message.get("direction") == "in":
                _record(message["text"], sent_at, phases)

    listener = asyncio.create_task(listen())

    async def customer(index: int) -> ClientConnection:
        socket = await connect(
            f"{base}/ws/support/chat/?key=bench-shop",
            origin=origin,  # type: ignore[arg-type]
            max_queue=None,
            ping_interval=None,
        )
        await socket.send(json.dumps({"type": "hello"}))
        welcome = json.loads(await socket.recv())
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"customer socket refused: {welcome}")
        return socket

    sockets = await _connect_all(clients, customer)
    drains = [asyncio.create_task(_drain(s)) for s in sockets]
    await _traffic(
        sockets,
        lambda token: json.dumps({"type": "message", "text": token}),
        sent_at,
        phases,
        seconds=seconds,
        spread=spread,
    )
    await _close_all([*sockets, agent])
    listener.cancel()
    for task in drains:
        task.cancel()
    return list(phases.values())


# -- processes and databases -----------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _serve(command: list[str], env: dict[str, str], *, regard: bool = False) -> Server:
    port = _free_port()
    if regard:
        argv = [
            sys.executable,
            *command,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
        ]
    else:
        argv = [
            sys.executable,
            *command,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--ws",
            "websockets-sansio",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(command)} exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            if regard:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    pass
            time.sleep(1.0)  # every worker up, not only the first
            return Server(process, port)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{' '.join(command)} did not start")


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def _template_create(env: dict[str, str]) -> None:
    with _admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    started = time.perf_counter()
    subprocess.run(
        [REGARD, "migrate", "--verbosity", "0"],
        env={**env, "DATABASE_URL": f"{PG_SERVER}/{TEMPLATE}"},
        check=True,
    )
    print(f"migrated the template database in {time.perf_counter() - started:.1f} s", flush=True)


def _database_from_template() -> None:
    with _admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}")


def _databases_drop() -> None:
    with _admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
