"""Rate limits hold across server processes, and a local client cannot pick its own address."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from regard.web.server import uvicorn_command

REDIS_URL = "redis://127.0.0.1:6379/14"
LIMIT = 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(port: int, *, forwarded_for: str = "") -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/u/not-a-real-token")
    if forwarded_for:
        request.add_header("X-Forwarded-For", forwarded_for)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server process exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[int, int]]:
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGARD_") and k != "DATABASE_URL"}
    env |= {
        "REDIS_URL": REDIS_URL,
        "REGARD_DATA_DIR": str(tmp_path),
        # A day's window: a minute's could end between two of the test's requests.
        "REGARD_PUBLIC_RATE_LIMIT": f"{LIMIT}/d",
        "DJANGO_SETTINGS_MODULE": "regard.config.settings",
    }
    ports = (_free_port(), _free_port())
    processes = []
    try:
        for port in ports:
            processes.append(
                subprocess.Popen(
                    uvicorn_command(host="127.0.0.1", port=port),
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port, process in zip(ports, processes, strict=True):
            _wait_until_serving(port, process)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.mark.timeout_sensitive
def test_a_public_limit_is_one_limit_for_two_server_processes(two_servers: tuple[int, int]) -> None:
    first, second = two_servers
    # Alternate between the processes; a per-process count would let 2 × LIMIT through.
    answers = [_status(first if n % 2 == 0 else second) for n in range(LIMIT + 6)]
    assert answers[:LIMIT] == [400] * LIMIT  # a bad link, answered
    assert answers[LIMIT:] == [429] * 6


@pytest.mark.timeout_sensitive
def test_a_local_client_cannot_claim_another_address_with_x_forwarded_for(
    two_servers: tuple[int, int],
) -> None:
    first, _ = two_servers
    answers = [_status(first, forwarded_for=f"198.51.100.{n}") for n in range(LIMIT + 2)]
    assert answers[-2:] == [429, 429]
