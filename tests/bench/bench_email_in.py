"""Email in: support mail accepted, parsed, threaded and stored by `regard smtpd`, beside a bare
aiosmtpd sink measured in the same run.

Both listeners run as their own processes on loopback. `regard smtpd` works against a fresh
PostgreSQL database (``regard_bench_email``, dropped at the end; BENCH_DATABASE_URL for another
server) migrated with `regard migrate`. The client sends the same 2,000 × scale messages
(about 2.5 KB of text, a third of them replies that thread by In-Reply-To, one in ten with a
small attachment) from 200 senders over 4 SMTP sessions each reusing its connection, first
to the sink, then to Regard; a message counts when the server has answered 250 to it, which
for Regard means it is parsed, threaded and committed. Then the stored messages and
conversations are counted to check that nothing was lost or mis-threaded.
"""

from __future__ import annotations

import os
import random
import smtplib
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import psycopg

FULL_MESSAGES = 2000
SESSIONS = int(os.environ.get("REGARD_BENCH_SESSIONS", "4"))
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = "regard_bench_email"
ADDRESS = "support@bench.regard.test"
REGARD = Path(sys.executable).with_name("regard")
WORDS = [
    "earphones",
    "left",
    "right",
    "silent",
    "charger",
    "cable",
    "order",
    "refund",
    "warranty",
    "replacement",
    "delivery",
    "parcel",
    "screen",
    "battery",
    "keyboard",
    "coffee",
    "machine",
    "noise",
    "crackle",
    "firmware",
    "update",
    "receipt",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def messages(count: int, *, seed: int = 11) -> list[tuple[str, bytes]]:
    """(sender, raw mail): first mails and replies to earlier ones, deterministic."""
    rng = random.Random(seed)
    senders = [f"customer{n}@example.org" for n in range(200)]
    sent: dict[str, list[str]] = {}
    result = []
    for n in range(count):
        sender = rng.choice(senders)
        mail = EmailMessage()
        mail["From"] = f"Customer {sender.split('@')[0][8:]} <{sender}>"
        mail["To"] = ADDRESS
        mail["Message-ID"] = f"<bench-{n}@example.org>"
        earlier = sent.get(sender)
        if earlier and rng.random() < 0.33:
            mail["Subject"] = "Re: my order"
            mail["In-Reply-To"] = earlier[-1]
            mail["References"] = " ".join(earlier[-5:])
        else:
            mail["Subject"] = f"Question about my {rng.choice(WORDS)}"
        body = "\n".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(30))
        mail.set_content(f"Hello,\n\n{body}\n\nThanks")
        if rng.random() < 0.1:
            mail.add_attachment(rng.randbytes(2048), maintype="image", subtype="jpeg", filename="photo.jpg")
        sent.setdefault(sender, []).append(mail["Message-ID"])
        data = mail.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        result.append((sender, data))
    return result


def _wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"listener exited with {process.returncode}")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
                smtp.noop()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("listener did not start")


def send_all(port: int, mails: list[tuple[str, bytes]]) -> float:
    """Seconds to have every message answered 250, over SESSIONS parallel sessions.

    Replies go in the same session as the mail they answer (one session per sender), so a
    reply never overtakes what it threads to.
    """
    lanes: list[list[tuple[str, bytes]]] = [[] for _ in range(SESSIONS)]
    for sender, data in mails:
        lanes[hash(sender) % SESSIONS].append((sender, data))
    errors: list[BaseException] = []

    def lane(items: list[tuple[str, bytes]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
                for sender, data in items:
                    smtp.sendmail(sender, [ADDRESS], data)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=lane, args=(items,)) for items in lanes]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def run(scale: float) -> None:
    count = max(100, int(FULL_MESSAGES * scale))
    mails = messages(count)
    size = sum(len(d) for _, d in mails) / len(mails)
    database_url = f"{SERVER_URL}/{DATABASE}"
    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REGARD_SUPPORT_ADDRESSES": ADDRESS,
        "REGARD_LOG_LEVEL": "WARNING",
    }
    try:
        subprocess.run([str(REGARD), "migrate", "--verbosity", "0"], env=env, check=True)
        results = []
        sink_port, regard_port = _free_port(), _free_port()
        listeners = [
            (
                "bare aiosmtpd sink",
                [
                    sys.executable,
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-c",
                    "aiosmtpd.handlers.Sink",
                    "-l",
                    f"127.0.0.1:{sink_port}",
                ],
                sink_port,
            ),
            (
                "regard smtpd (support)",
                [str(REGARD), "smtpd", "--host", "127.0.0.1", "--port", str(regard_port)],
                regard_port,
            ),
        ]
        for name, command, port in listeners:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _wait_port(port, process)
                elapsed = send_all(port, mails)
            finally:
                process.terminate()
                process.wait(timeout=30)
            results.append((name, elapsed))
        with psycopg.connect(database_url) as db:
            stored = db.execute("SELECT count(*) FROM support_message WHERE direction = 'in'").fetchone()
            conversations = db.execute("SELECT count(*) FROM support_conversation").fetchone()
            replies = db.execute("SELECT count(*) FROM support_message WHERE in_reply_to <> ''").fetchone()
    finally:
        with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    reference = results[0][1]
    print(f"{count} messages, {size / 1024:.1f} KB on average, {SESSIONS} sessions")
    print(f"{'listener':<26}{'seconds':>9}{'msg/s':>9}{'vs sink':>9}")
    for name, elapsed in results:
        print(f"{name:<26}{elapsed:>9.2f}{count / elapsed:>9.0f}{elapsed / reference:>8.1f}×")
    assert stored is not None
    assert conversations is not None
    assert replies is not None
    print(f"stored {stored[0]} messages ({replies[0]} replies) in {conversations[0]} conversations")
    if stored[0] != count:
        raise AssertionError(f"{count} sent but {stored[0]} stored")
