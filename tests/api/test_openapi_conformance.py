"""The API against its own OpenAPI document, with generated requests (schemathesis).

For every operation, requests built from the document (valid ones, and ones breaking its
rules) are sent with an admin's token. No answer may be a server error, and every answer
must carry a status code the document lists for the operation and a body that matches the
schema it gives for that code. The budget per operation is small, so the whole run stays
well under two minutes per database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from regard.api.api import api
from regard.privacy.roles import Role
from regard.privacy.services import token_create, user_create

# Beyond the coverage phase's boundary cases (every one the document defines, a few dozen
# per operation), this many generated requests per operation: about a minute per database.
EXAMPLES_PER_OPERATION = 6

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = WSGIHandler()

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def admin_token(db: None, settings: Any) -> str:
    # The password is never used; hashing it at full strength for every operation would
    # cost more than the operation's whole run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = user_create(username="conformance-admin", password="correct horse battery", roles=[Role.ADMIN])
    return token_create(username=user.get_username()).secret


@pytest.fixture(autouse=True)
def _one_connection_for_the_test() -> Iterator[None]:
    # The requests run in the test's transaction; the handler must not close its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented_and_matches_its_schema(case: schemathesis.Case, admin_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
