from __future__ import annotations

import itertools
import os
import socket
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import django_ratelimit.core
import pytest
from django.contrib.auth.models import User
from django.core.cache.backends.base import BaseCache
from django.test import Client
from hypothesis import HealthCheck, settings

from regard.outreach.smtpd import feedback_controller
from regard.privacy.roles import Role
from regard.privacy.services import token_create, user_create

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Properties are about results, not speed: on a loaded CI machine a per-example deadline
# or the slow-generation check fails tests whose answers are right.
settings.register_profile("regard", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("regard")


class ApiClient:
    """A test client that speaks JSON to /api/v1/ with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, data: Any = None, **params: Any) -> Any:
        url = path if path.startswith("/") else f"/api/v1/{path}"
        call = getattr(self.client, method)
        if method in {"post", "patch", "put"}:
            return call(
                url,
                data=data if data is not None else {},
                content_type="application/json",
                headers=self.headers,
            )
        return call(url, data=params or data, headers=self.headers)

    def get(self, path: str, **params: Any) -> Any:
        return self._call("get", path, **params)

    def post(self, path: str, data: Any = None) -> Any:
        return self._call("post", path, data)

    def patch(self, path: str, data: Any = None) -> Any:
        return self._call("patch", path, data)

    def put(self, path: str, data: Any = None) -> Any:
        return self._call("put", path, data)

    def delete(self, path: str) -> Any:
        return self._call("delete", path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``postgres_only`` tests (SKIP LOCKED, the PL/pgSQL functions) skip on SQLite, saying why."""
    from django.conf import settings as django_settings

    if "postgresql" in django_settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL)")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


_test_numbers = itertools.count()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    # Public pages count requests per client address in the shared cache (a database table
    # here); one test's requests must not use up the next test's budget, whatever the order.
    # A fresh key prefix starts every count at zero without touching the database. It is set
    # on the class, not on `cache`: that object is per thread, and the chat consumers count
    # in threads of their own, which would otherwise share one prefix across tests.
    prefix = f"test{next(_test_numbers)}"
    make_key = BaseCache.make_key
    monkeypatch.setattr(
        BaseCache, "make_key", lambda self, key, version=None: make_key(self, f"{prefix}:{key}", version)
    )
    # The limiter counts in fixed windows; a window that ended between a test's fifth and
    # sixth request would start the count again. Its clock stands still for the test.
    standing = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: standing))


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = {"n": 0}

    def make(*roles: Role, username: str | None = None, password: str = "correct horse battery") -> User:
        counter["n"] += 1
        name = username or f"{'-'.join(r.value for r in roles) or 'norole'}{counter['n']}"
        return user_create(username=name, password=password, roles=roles)

    return make


@pytest.fixture
def api_for(make_user: Callable[..., User]) -> Callable[..., ApiClient]:
    def make(*roles: Role) -> ApiClient:
        user = make_user(*roles)
        return ApiClient(token_create(username=user.get_username()).secret)

    return make


@pytest.fixture
def admin_api(api_for: Callable[..., ApiClient]) -> ApiClient:
    return api_for(Role.ADMIN)


@pytest.fixture
def agent_api(api_for: Callable[..., ApiClient]) -> ApiClient:
    return api_for(Role.AGENT)


@pytest.fixture
def anonymous_api(db: None) -> ApiClient:
    return ApiClient(None)


@pytest.fixture
def listener() -> Iterator[int]:
    """Regard's own SMTP listener (feedback and support mail) on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = feedback_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
