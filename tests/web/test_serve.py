"""`make run` ends in `regard serve`: migrate, demo data, admin sign-in, web, worker, dispatcher, smtpd."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REGARD = Path(sys.executable).with_name("regard")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout_sensitive
def test_serve_starts_web_worker_dispatcher_and_smtpd_on_an_empty_embedded_database(tmp_path: Path) -> None:
    port, smtpd_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REGARD_SMTP_RELAY"}}
    env.update(REGARD_DATA_DIR=str(tmp_path), REGARD_SMTPD_PORT=str(smtpd_port), PYTHONUNBUFFERED="1")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(REGARD), "serve", "--port", str(port), "--demo-customers", "20"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            health = None
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                        health = response.read().decode()
                        break
                except OSError:
                    time.sleep(0.5)
            assert health == '{"status": "ok", "database": "ok"}', log.read_text()
            deadline = time.monotonic() + 30
            expected = (
                "Starting worker",
                "Receiving bounces, complaints",
                "Demo mailbox on smtp://",
                "Dispatching the outbox through smtp relay 127.0.0.1:",
            )
            while not all(line in log.read_text() for line in expected) and time.monotonic() < deadline:
                time.sleep(0.5)
            output = log.read_text()
            assert f"Regard is running at http://127.0.0.1:{port}/" in output
            assert "sign in as  admin / " in output
            assert "Starting worker" in output, output
            assert f"SMTP in     smtp://127.0.0.1:{smtpd_port} " in output, output
            assert "Receiving bounces, complaints and unsubscribe mail" in output, output
            assert "Dispatching the outbox through smtp relay 127.0.0.1:" in output, output
            # No relay configured: mail is kept in a local mailbox, never sent anywhere.
            assert f"sent mail is kept in {tmp_path / 'demo-mailbox'}" in output, output
            assert "DKIM        regard._domainkey." in output, output
            assert list((tmp_path / "dkim").glob("*.pem"))
            with smtplib.SMTP("127.0.0.1", smtpd_port, timeout=10) as smtp:
                assert smtp.noop()[0] == 250
            # The demo's support address takes mail at the same listener and files it as a conversation.
            assert f"support     mail support@regard.localhost at smtp://127.0.0.1:{smtpd_port}" in output, (
                output
            )
            with smtplib.SMTP("127.0.0.1", smtpd_port, timeout=10) as smtp:
                smtp.sendmail(
                    "visitor@example.com",
                    ["support@regard.localhost"],
                    b"From: visitor@example.com\r\nSubject: Hello desk\r\nMessage-ID: <serve-1@example.com>\r\n\r\nHi!\r\n",
                )
            with sqlite3.connect(tmp_path / "regard.sqlite3") as db:
                subjects = {row[0] for row in db.execute("select subject from support_conversation")}
            assert {"Hello desk", "Earphones stopped working"} <= subjects
            with sqlite3.connect(tmp_path / "regard.sqlite3") as db:
                campaigns = db.execute("select state from outreach_campaign").fetchall()
            # A draft to preview and launch by hand, and one launched at start so progress moves
            # (done once the dispatcher has nothing of it left to send).
            states = sorted(state for (state,) in campaigns)
            assert states in (["draft", "running"], ["done", "draft"])
            password = (tmp_path / "admin-credentials.txt").read_text().strip()
            assert password
            assert password in output
            assert (tmp_path / "regard.sqlite3").exists()
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
