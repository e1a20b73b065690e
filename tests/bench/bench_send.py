"""Campaign send throughput beside the raw SMTP ceiling to the same sink (issue 4).

100,000 customers × scale, each with newsletter consent, are written with COPY into a fresh
PostgreSQL database; one campaign is launched through `campaign_launch`; two `regard dispatch`
processes claim (SKIP LOCKED), ask the gate in the claim transaction, render, DKIM-sign
(RSA-2048 through OpenSSL) and hand every message to Postfix's `smtp-sink` on loopback, which
dumps what it receives to a file. Printed in the same run:

- messages/s of the send (first claim to last recorded send, from the outbox itself);
- the raw SMTP ceiling to the same sink with messages of the same size: Python smtplib over
  one reused connection, and `smtp-source` with as many sessions as there are workers;
- the duplicate count: Message-IDs the sink received more than once (must be 0), and
  whether every sent row reached the sink.

Goal: ≥ 1,000 messages/s and ≥ 0.3× the ceiling.

    python -m tests.bench.run --only send --scale 0.05

Knobs: REGARD_BENCH_PG (server URL), REGARD_BENCH_SEND_WORKERS (default 2),
REGARD_BENCH_SEND_BATCH (default 200), REGARD_BENCH_KEEP=1 keeps the database.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg

from tests.bench import outreach_setup as setup

DATABASE = "regard_bench_send"
FULL_CUSTOMERS = 100_000
WORKERS = int(os.environ.get("REGARD_BENCH_SEND_WORKERS", "2"))
BATCH = int(os.environ.get("REGARD_BENCH_SEND_BATCH", "200"))
CEILING_MESSAGES = 20_000
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
GOAL_RATE = 1_000.0
GOAL_RATIO = 0.3
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.IGNORECASE)


def run(scale: float) -> None:
    if not Path(SMTP_SINK).exists():
        raise SystemExit("smtp-sink is missing: `make bench` installs Debian's postfix package for it")
    customers = max(2_000, round(FULL_CUSTOMERS * scale))
    url = setup.database_url(DATABASE)
    workdir = Path(tempfile.mkdtemp(prefix="regard-bench-send-"))
    workdir.chmod(0o777)  # the sink runs as nobody and writes its dump here
    env_extra = {"REGARD_DATA_DIR": str(workdir / "data"), "REGARD_MAIL_DOMAIN": "bench.regard.test"}
    setup.database_recreate(DATABASE)
    try:
        setup.migrate(url)
        took = setup.load(url, customers=customers)
        print(f"loaded {customers:,} customers with email and newsletter consent in {took:.1f} s", flush=True)
        subprocess.run(
            [setup.REGARD, "dkim", "init", env_extra["REGARD_MAIL_DOMAIN"]],
            env=setup.regard_env(url, **env_extra),
            check=True,
            capture_output=True,
        )
        launched = setup.run_step("launch", url, **env_extra)
        print(
            f"campaign launched: {launched['planned']:,} outbox rows planned in {launched['seconds']:.1f} s",
            flush=True,
        )
        load_before = os.getloadavg()
        send = _send(url, workdir, env_extra, customers)
        load_after = os.getloadavg()
        size = send["bytes"] / max(send["received"], 1)
        ceiling = _ceiling(workdir, size=round(size), messages=min(CEILING_MESSAGES, customers))
        _report(send, ceiling, size=size, load=(load_before, load_after))
    finally:
        if not os.environ.get("REGARD_BENCH_KEEP"):
            setup.database_drop(DATABASE)
        shutil.rmtree(workdir, ignore_errors=True)


# -- the send ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sink:
    """Postfix's smtp-sink on loopback, dumping every transaction to one file."""

    def __init__(self, dump: Path) -> None:
        self.port = _free_port()
        self.dump = dump
        command = [SMTP_SINK, "-D", str(dump)]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "nobody"]
        self.process = subprocess.Popen([*command, f"127.0.0.1:{self.port}", "256"])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("smtp-sink did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def message_ids(self) -> tuple[Counter[bytes], int]:
        """Message-IDs in the dump, and the bytes of message data."""
        ids: Counter[bytes] = Counter()
        size = 0
        if not self.dump.exists():
            return ids, 0
        with self.dump.open("rb") as dump:
            in_received = False
            for line in dump:
                # The sink's own X- lines and Received header are not part of what was sent.
                if line.startswith(b"Received:"):
                    in_received = True
                elif not line.startswith(b"\t"):
                    in_received = False
                if not in_received and not line.startswith(b"X-"):
                    size += len(line)
                if line[:11].lower() == b"message-id:":
                    found = MESSAGE_ID.match(line)
                    if found:
                        ids[found.group(1)] += 1
        return ids, size


def _outbox(url: str) -> tuple[int, int, float | None]:
    """(rows still to send, rows sent, seconds from the first claim to the last recorded send)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE state IN ('pending', 'sending')),"
            " count(*) FILTER (WHERE state = 'sent'),"
            " extract(epoch FROM max(sent_at) - min(claimed_at))"
            " FROM outreach_outboxmessage"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2]) if row[2] is not None else None


def _send(url: str, workdir: Path, env_extra: dict[str, str], customers: int) -> dict[str, float]:
    sink = Sink(workdir / "send.dump")
    env = setup.regard_env(url, **env_extra)
    command = [setup.REGARD, "dispatch", "--batch", str(BATCH), "--idle-sleep", "0.2"]
    command += ["--relay", f"smtp://127.0.0.1:{sink.port}"]
    started = time.perf_counter()
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(WORKERS)]
    try:
        while True:
            time.sleep(0.5)
            left, sent, window = _outbox(url)
            if not left:
                break
            if any(w.poll() is not None for w in workers):
                raise RuntimeError("a dispatcher stopped before the outbox was empty")
        wall = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        time.sleep(0.2)
        sink.stop()
    counts = setup.run_step("counts", url, **env_extra)
    ids, size = sink.message_ids()
    return {
        "customers": customers,
        "sent": sent,
        "window": window or wall,
        "wall": wall,
        "received": sum(ids.values()),
        "distinct": len(ids),
        "duplicates": sum(n - 1 for n in ids.values() if n > 1),
        "bytes": size,
        "uncertain": int(counts["uncertain"]),  # type: ignore[call-overload]
    }


# -- the ceiling -------------------------------------------------------------------------------


def _ceiling(workdir: Path, *, size: int, messages: int) -> dict[str, float]:
    sink = Sink(workdir / "ceiling.dump")
    try:
        body = b"x" * 76 + b"\r\n"
        header = b"From: a@bench.regard.test\r\nTo: b@example.org\r\nSubject: ceiling\r\n\r\n"
        data = header + body * max(1, (size - len(header)) // len(body))
        smtp = smtplib.SMTP("127.0.0.1", sink.port)
        smtp.ehlo()
        started = time.perf_counter()
        for number in range(messages):
            smtp.sendmail(f"bounce+{number}@bench.regard.test", [f"reader{number}@example.org"], data)
        smtplib_rate = messages / (time.perf_counter() - started)
        smtp.quit()
        source_rate = 0.0
        if Path(SMTP_SOURCE).exists():
            started = time.perf_counter()
            subprocess.run(
                [
                    *(SMTP_SOURCE, "-s", str(WORKERS), "-m", str(messages), "-l", str(size)),
                    *("-f", "bounce@bench.regard.test", "-t", "reader@example.org", f"127.0.0.1:{sink.port}"),
                ],
                check=True,
            )
            source_rate = messages / (time.perf_counter() - started)
    finally:
        sink.stop()
    return {"smtplib": smtplib_rate, "smtp_source": source_rate, "messages": messages}


def _report(
    send: dict[str, float],
    ceiling: dict[str, float],
    *,
    size: float,
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> None:
    rate = send["sent"] / send["window"]
    print(
        f"\nsend: {send['sent']:,.0f} of {send['customers']:,.0f} messages sent by {WORKERS} workers "
        f"(batch {BATCH}) in {send['window']:.1f} s from first claim to last send "
        f"({send['wall']:.1f} s wall, process start-up included); average message {size:,.0f} bytes"
    )
    print(
        f"sink: {send['received']:,.0f} received, {send['distinct']:,.0f} distinct Message-IDs, "
        f"duplicates {send['duplicates']:,.0f}; uncertain sends {send['uncertain']:,.0f}"
    )
    print(f"\n| path | messages/s | × smtplib ceiling | × smtp-source ({WORKERS} sessions) |")
    print("|---|---|---|---|")
    for name, value in (
        ("Regard: gate + render + DKIM + SMTP", rate),
        ("smtplib, one reused connection", ceiling["smtplib"]),
        (f"smtp-source, {WORKERS} sessions", ceiling["smtp_source"]),
    ):
        versus_source = f"{value / ceiling['smtp_source']:.2f}×" if ceiling["smtp_source"] else "n/a"
        print(f"| {name} | {value:,.0f} | {value / ceiling['smtplib']:.2f}× | {versus_source} |")
    print(
        f"\ngoal ≥ {GOAL_RATE:,.0f}/s: {'met' if rate >= GOAL_RATE else 'NOT met'}; "
        f"goal ≥ {GOAL_RATIO}× the smtplib ceiling: "
        f"{'met' if rate >= GOAL_RATIO * ceiling['smtplib'] else 'NOT met'}; "
        f"duplicates {'0 (goal met)' if not send['duplicates'] else 'NOT 0'}"
    )
    print(
        f"load average (1 min) {load[0][0]:.1f} before the send, {load[1][0]:.1f} after, "
        f"{os.cpu_count()} CPUs"
    )
