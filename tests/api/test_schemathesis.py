"""schemathesis against the live API: generated requests to every operation of the OpenAPI
document the app serves, each answer checked for a server error and against the document.

The WSGI app runs in-process, on the test database of each test: one API client of
Salary S.A.'s space (every domain, ``act``) sends its bearer token, and its admin's
portal session (cookie and CSRF token) goes along, so the session-authenticated
certification endpoints are exercised past their login too. At least 100 cases run
per operation (fewer only where the schema allows fewer distinct inputs).

It runs on PostgreSQL only (``postgres`` marker; the SQLite pass deselects it). The
document and the checks do not depend on the database, so one pass finds every schema
violation, and each pass costs some 2.5 minutes on 2 cores. PostgreSQL is the pass to
keep: it is the production database and the stricter one, where generated input
breaks what SQLite lets through (a NUL character in a text, an integer beyond
``bigint``, a string where a number is expected).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from pytest_django.fixtures import Settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mandat.catalog.models import Domain
from mandat.wsgi import application
from tests import factories

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Django accepts a CSRF secret of 32 letters and digits; the same value goes in the header.
CSRF = "bench0schemathesis0csrf000000000"


# Loaded when the module is collected (the document needs no database). The lazy
# ``schemathesis.pytest.from_fixture`` does not work with pytest 9 (it reads a removed
# private attribute of the test node).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Django closes the database connection when a request ends, unless the test client
    sent it; the WSGI app is called directly here, so do what the test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(db: None, settings: Settings, tmp_path: Path) -> dict[str, Any]:
    """Headers and cookies of a caller that is both an API client and a logged-in admin."""
    settings.DATA_DIR = tmp_path
    world = factories.certification_world()
    client = factories.api_client(
        world.salary_space,
        tuple((code, "act") for code in Domain.objects.values_list("code", flat=True)),
        admin=world.salary_admin,
    )
    token = factories.api_token(client)
    browser = Client()
    browser.force_login(world.salary_admin)
    return {
        "headers": {"Authorization": f"Bearer {token}", "X-CSRFToken": CSRF},
        "cookies": {"sessionid": browser.cookies["sessionid"].value, "csrftoken": CSRF},
    }


@pytest.mark.postgres
@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, credentials: dict[str, Any]) -> None:
    case.call_and_validate(
        headers=credentials["headers"], cookies=credentials["cookies"], checks=CHECKS
    )
