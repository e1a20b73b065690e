"""`make run` ends in `regard serve`: migrate, demo data, admin sign-in, web server and worker."""

from __future__ import annotations

import os
import signal
import socket
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
def test_serve_starts_web_and_worker_on_an_empty_embedded_database(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(REGARD_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
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
            while "Starting worker" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.5)
            output = log.read_text()
            assert f"Regard is running at http://127.0.0.1:{port}/" in output
            assert "sign in as  admin / " in output
            assert "Starting worker" in output, output
            password = (tmp_path / "admin-credentials.txt").read_text().strip()
            assert password
            assert password in output
            assert (tmp_path / "regard.sqlite3").exists()
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
