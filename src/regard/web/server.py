"""How the web server is started, in one place for `regard serve` and `regard web`."""

from __future__ import annotations

import sys

from django.conf import settings


def uvicorn_command(*, host: str, port: int, workers: int | None = None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "regard.config.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--ws",
        "websockets-sansio",
        "--no-access-log",
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    proxies = list(settings.REGARD_TRUSTED_PROXIES)
    if proxies:
        # Only these proxies may say who the client is (X-Forwarded-For / -Proto).
        command += ["--proxy-headers", "--forwarded-allow-ips", ",".join(proxies)]
    else:
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default: any local client could
        # then claim any address and step round every per-address limit.
        command += ["--no-proxy-headers"]
    return command
