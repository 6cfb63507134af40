"""``POST /check`` reads the client and the rule in one statement (``mandat.api.checks``).

It skips the read that every other endpoint's authentication makes, so it must refuse
exactly what that read refuses, and answer exactly what ``policies.space_check`` answers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mandat.api import checks
from mandat.api import services as api_services
from mandat.api.models import ApiClient
from mandat.api.ratelimit import limiter
from mandat.api.schemas import CheckOut
from mandat.core import time
from mandat.mandates import policies
from mandat.mandates import services as mandate_services
from mandat.registry.models import Employer
from mandat.spaces.models import Space
from tests import factories

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture(autouse=True)
def _fresh_limiter() -> Iterator[None]:
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def firm() -> Space:
    return factories.space_of(factories.salary_sa().organisation)


@pytest.fixture
def employer() -> Employer:
    return factories.employer("Boulangerie Rapide")


@pytest.fixture
def api_client_(firm: Space) -> ApiClient:
    return factories.api_client(firm, (("AFFILIATIONS", "act"), ("EMPLOYER", "act")))


def check(headers: dict[str, str], employer: Employer, action: str = "consult") -> Any:
    body = {"employer": employer.employer_number, "domain": "AFFILIATIONS", "action": action}
    return Client().post("/api/v1/check", body, content_type=JSON, headers=headers)


def refused_as_invalid_token(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["type"] == "urn:mandat:problem:invalid_token"


def test_revoked_expired_or_closed_is_refused_at_the_next_check(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    factories.mandate(employer_=employer, space=firm, level="act")
    headers = factories.api_headers(api_client_)
    assert check(headers, employer).json()["allowed"] is True

    api_services.api_client_revoke(by=api_client_.created_by, client=api_client_)
    refused_as_invalid_token(check(headers, employer))

    other = factories.api_client(firm, (("AFFILIATIONS", "act"),))
    headers = factories.api_headers(other)
    ApiClient.objects.filter(pk=other.pk).update(expires_at=time.now())
    refused_as_invalid_token(check(headers, employer))

    third = factories.api_client(firm, (("AFFILIATIONS", "act"),))
    headers = factories.api_headers(third)
    assert check(headers, employer).status_code == 200
    Space.objects.filter(pk=firm.pk).update(closed_at=time.now())
    refused_as_invalid_token(check(headers, employer))


def test_a_token_naming_another_space_is_refused(api_client_: ApiClient, firm: Space) -> None:
    other_space = factories.space_of(factories.employer("Autre SA").organisation)
    found = checks.client_check(api_client_.client_id, other_space.pk, "act", "1", "AFFILIATIONS")
    assert found == checks.ClientCheck(None, None)
    assert checks.client_check(api_client_.client_id, firm.pk, "act", "1", "AFFILIATIONS") == (
        checks.ClientCheck(api_client_.pk, None)
    )


def test_a_check_is_one_statement_and_is_counted(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    factories.mandate(employer_=employer, space=firm, level="act")
    headers = factories.api_headers(api_client_)
    assert check(headers, employer).status_code == 200  # the first call syncs the rate limit
    with CaptureQueriesContext(connection) as queries:
        response = check(headers, employer, "act")
    assert response.status_code == 200
    # The statement runs on the driver itself, below Django's query log: none is logged.
    assert len(queries) == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.MANDAT_API_RATE_LIMIT", 2)
        patch.setattr("django.conf.settings.MANDAT_API_RATE_SYNC", 3600.0)
        assert check(headers, employer).status_code == 429


def test_out_of_scope_after_the_client_is_read(firm: Space, employer: Employer) -> None:
    narrow = factories.api_client(firm, (("EMPLOYER", "consult"),))
    headers = factories.api_headers(narrow)
    response = check(headers, employer)
    assert response.status_code == 403
    assert response.json()["type"] == "urn:mandat:problem:scope_missing"
    api_services.api_client_revoke(by=narrow.created_by, client=narrow)
    refused_as_invalid_token(check(headers, employer))


def test_answers_are_the_schema_s(api_client_: ApiClient, firm: Space, employer: Employer) -> None:
    headers = factories.api_headers(api_client_)
    refused = check(headers, employer)
    mandate = factories.mandate(employer_=employer, space=firm, level="act")
    allowed = check(headers, employer)
    for response in (refused, allowed):
        assert response["Content-Type"].startswith("application/json")
        CheckOut.model_validate(response.json())  # raises on any difference
    assert refused.json() == {"allowed": False, "reason": "no_active_mandate", "mandate": None}
    assert allowed.json() == {"allowed": True, "reason": "active_mandate", "mandate": mandate.pk}


def test_the_statement_answers_as_space_check(api_client_: ApiClient, firm: Space) -> None:
    """Every level, status and validity window, both actions, known and unknown employers."""
    now = time.now()
    windows = [
        {},
        {"valid_from": now + dt.timedelta(days=1)},
        {"valid_from": now - dt.timedelta(days=9), "valid_until": now - dt.timedelta(days=1)},
        {"valid_from": now - dt.timedelta(days=9), "valid_until": now + dt.timedelta(days=1)},
    ]
    agent = factories.agent()
    employers = []
    for index, (level, window, revoked) in enumerate(
        itertools.product(["consult", "act"], windows, [False, True])
    ):
        employer = factories.employer(f"Client {index}")
        employers.append(employer)
        for code in ("AFFILIATIONS", "EMPLOYER"):
            made = factories.mandate(
                employer_=employer, space=firm, domain_code=code, level=level, **window
            )
            if revoked:
                mandate_services.mandate_revoke(by=agent, mandate=made)
    numbers = [e.employer_number for e in employers] + ["99999999999", ""]
    answers = 0
    for number, code, action in itertools.product(
        numbers, ["AFFILIATIONS", "EMPLOYER", "BILLING", "NOPE"], ["consult", "act"]
    ):
        expected = policies.space_check(firm.pk, action, number, code)
        found = checks.client_check(api_client_.client_id, firm.pk, action, number, code)
        assert found == checks.ClientCheck(api_client_.pk, expected), (number, code, action)
        answers += expected is not None
    assert answers > 0  # some allowed, most not: both branches compared


def test_the_client_list_is_what_the_model_would_render(
    api_client_: ApiClient, firm: Space
) -> None:
    """``/clients`` encodes its page itself: the same body as ``ClientPage`` through ninja."""
    from ninja.responses import NinjaJSONEncoder

    from mandat.api.schemas import ClientPage

    employers = [factories.employer(f"Client {n}") for n in range(3)]
    for employer in employers:
        factories.mandate(employer_=employer, space=firm, level="act")
    headers = factories.api_headers(api_client_)
    response = Client().get(
        "/api/v1/clients", {"domain": "AFFILIATIONS", "limit": 2}, headers=headers
    )
    assert response.status_code == 200
    body = response.json()
    assert [i["employer"]["employer_number"] for i in body["items"]] == [
        e.employer_number for e in employers[:2]
    ]
    rendered = NinjaJSONEncoder().encode(ClientPage.model_validate(body).model_dump())
    assert json.loads(rendered) == body
    assert body["next_cursor"] is not None
    unknown = Client().get("/api/v1/clients", {"domain": "NOPE"}, headers=headers)
    assert unknown.status_code in (403, 404)


@pytest.mark.postgres
def test_the_check_statement_is_prepared_on_postgresql(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    """Planning it cost ten times running it: it must run as a prepared statement."""
    for _ in range(3):
        checks.client_check(api_client_.client_id, firm.pk, "act", "1", "AFFILIATIONS")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("FROM api_apiclient c" in statement for statement in prepared), prepared
