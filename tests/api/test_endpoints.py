"""The token API's endpoints: whoami, checks, clients, mandates and events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mandat.api import services as api_services
from mandat.api.models import ApiClient
from mandat.api.ratelimit import limiter
from mandat.core import time
from mandat.core.models import AuditEvent, AuditHead
from mandat.mandates import services as mandate_services
from mandat.mandates.models import Mandate, MandateStatus
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


def warm(client: ApiClient) -> None:
    """One call first: a client's first call in a process syncs its rate-limit count."""
    assert call(client, "get", "/api/v1/whoami").status_code == 200


@pytest.fixture
def firm() -> Space:
    return factories.space_of(factories.salary_sa().organisation)


@pytest.fixture
def employer() -> Employer:
    return factories.employer("Boulangerie Test")


@pytest.fixture
def api_client_(firm: Space) -> ApiClient:
    return factories.api_client(firm, (("AFFILIATIONS", "act"), ("EMPLOYER", "consult")))


def call(client: ApiClient, method: str, url: str, body: Any = None, **extra: Any) -> Any:
    http = Client()
    headers = factories.api_headers(client)
    if method == "get":
        return http.get(url, body or {}, headers=headers)
    return http.post(url, body, content_type=JSON, headers=headers)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:mandat:problem:{code}"
    return body


# --- authentication ---------------------------------------------------------------------------


def test_whoami_names_the_space_client_and_scopes(api_client_: ApiClient, firm: Space) -> None:
    response = call(api_client_, "get", "/api/v1/whoami")
    assert response.status_code == 200
    body = response.json()
    assert body["space"] == {"id": firm.pk, "name": firm.name}
    assert body["client"]["client_id"] == api_client_.client_id
    assert body["scopes"] == ["AFFILIATIONS:act", "EMPLOYER:consult"]


def test_no_token_or_a_bad_token_is_401(api_client_: ApiClient) -> None:
    body = problem(Client().get("/api/v1/whoami"), 401, "not_authenticated")
    assert body["status"] == 401
    bad = Client().get("/api/v1/whoami", headers={"Authorization": "Bearer not.a.token"})
    problem(bad, 401, "invalid_token")
    assert 'error="invalid_token"' in bad["WWW-Authenticate"]


def test_revoking_a_client_kills_its_token_at_the_next_call(api_client_: ApiClient) -> None:
    headers = factories.api_headers(api_client_)
    assert Client().get("/api/v1/whoami", headers=headers).status_code == 200
    api_services.api_client_revoke(by=api_client_.created_by, client=api_client_)
    problem(Client().get("/api/v1/whoami", headers=headers), 401, "invalid_token")


def test_an_expired_client_is_refused_with_a_live_token(api_client_: ApiClient) -> None:
    headers = factories.api_headers(api_client_)
    ApiClient.objects.filter(pk=api_client_.pk).update(expires_at=time.now())
    problem(Client().get("/api/v1/whoami", headers=headers), 401, "invalid_token")


def test_a_closed_space_refuses_its_clients(api_client_: ApiClient, firm: Space) -> None:
    headers = factories.api_headers(api_client_)
    Space.objects.filter(pk=firm.pk).update(closed_at=time.now())
    problem(Client().get("/api/v1/whoami", headers=headers), 401, "invalid_token")


def test_a_token_signed_by_another_key_is_refused(api_client_: ApiClient) -> None:
    from joserfc import jwt
    from joserfc.jwk import ECKey

    from mandat.api import tokens

    claims = jwt.decode(
        factories.api_token(api_client_), tokens.signing_key(), algorithms=["ES256"]
    ).claims
    forged = jwt.encode({"alg": "ES256"}, claims, ECKey.generate_key("P-256", private=True))
    bad = Client().get("/api/v1/whoami", headers={"Authorization": f"Bearer {forged}"})
    problem(bad, 401, "invalid_token")


# --- checks -----------------------------------------------------------------------------------


def test_check_allowed_names_the_mandate(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    mandate = factories.mandate(employer_=employer, space=firm, level="act")
    body = {"employer": employer.employer_number, "domain": "AFFILIATIONS", "action": "act"}
    response = call(api_client_, "post", "/api/v1/check", body)
    assert response.status_code == 200
    assert response.json() == {"allowed": True, "reason": "active_mandate", "mandate": mandate.pk}


def test_unknown_employer_and_forbidden_answer_alike(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    factories.mandate(employer_=employer, space=firm, level="consult")
    forbidden = call(
        api_client_,
        "post",
        "/api/v1/check",
        {"employer": employer.employer_number, "domain": "AFFILIATIONS", "action": "act"},
    )
    unknown = call(
        api_client_,
        "post",
        "/api/v1/check",
        {"employer": "99999999999", "domain": "AFFILIATIONS", "action": "act"},
    )
    assert forbidden.status_code == unknown.status_code == 200
    assert (
        forbidden.json()
        == unknown.json()
        == {
            "allowed": False,
            "reason": "no_active_mandate",
            "mandate": None,
        }
    )


def test_check_outside_the_scopes_is_403(api_client_: ApiClient, employer: Employer) -> None:
    body = {"employer": employer.employer_number, "domain": "EMPLOYER", "action": "act"}
    problem(call(api_client_, "post", "/api/v1/check", body), 403, "scope_missing")
    body = {"employer": employer.employer_number, "domain": "BILLING", "action": "consult"}
    problem(call(api_client_, "post", "/api/v1/check", body), 403, "scope_missing")


def test_check_with_a_bad_body_is_422(api_client_: ApiClient) -> None:
    body = {"employer": "1", "domain": "AFFILIATIONS", "action": "delete"}
    problem(call(api_client_, "post", "/api/v1/check", body), 422, "invalid_input")


def test_batch_answers_in_order_in_a_constant_number_of_queries(
    api_client_: ApiClient, firm: Space
) -> None:
    employers = [factories.employer() for _ in range(4)]
    ids = [factories.mandate(employer_=e, space=firm, level="consult").pk for e in employers[:3]]
    checks = [
        {"employer": e.employer_number, "domain": "AFFILIATIONS", "action": "consult"}
        for e in employers
    ] + [{"employer": employers[0].employer_number, "domain": "AFFILIATIONS", "action": "act"}]
    warm(api_client_)
    with CaptureQueriesContext(connection) as queries:
        response = call(api_client_, "post", "/api/v1/check/batch", {"checks": checks})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["allowed"] for r in results] == [True, True, True, False, False]
    assert [r["mandate"] for r in results] == [*ids, None, None]
    # driver-level queries (policy, client) do not show here; the ORM does none per check
    assert len(queries) <= 3


def test_batch_of_more_than_1000_is_422(api_client_: ApiClient) -> None:
    check = {"employer": "1", "domain": "AFFILIATIONS", "action": "consult"}
    body = problem(
        call(api_client_, "post", "/api/v1/check/batch", {"checks": [check] * 1001}),
        422,
        "invalid_input",
    )
    assert body["invalid-params"][0]["name"] == "checks"


def test_batch_outside_the_scopes_names_the_check(api_client_: ApiClient) -> None:
    checks = [
        {"employer": "1", "domain": "AFFILIATIONS", "action": "consult"},
        {"employer": "1", "domain": "BILLING", "action": "consult"},
    ]
    body = problem(
        call(api_client_, "post", "/api/v1/check/batch", {"checks": checks}), 403, "scope_missing"
    )
    assert body["invalid-params"][0]["name"] == "checks.1.domain"


# --- clients ----------------------------------------------------------------------------------


def test_clients_pages_by_cursor_and_filters(api_client_: ApiClient, firm: Space) -> None:
    employers = [factories.employer() for _ in range(5)]
    for index, e in enumerate(employers):
        factories.mandate(employer_=e, space=firm, level="act" if index % 2 else "consult")
    seen: list[str] = []
    cursor = None
    warm(api_client_)
    pages = 0
    while True:
        params = {"domain": "AFFILIATIONS", "limit": 2, **({"cursor": cursor} if cursor else {})}
        with CaptureQueriesContext(connection) as queries:
            response = call(api_client_, "get", "/api/v1/clients", params)
        assert response.status_code == 200, response.content
        assert len(queries) <= 3  # constant per page
        page = response.json()
        seen += [item["employer"]["employer_number"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(e.employer_number for e in employers)
    assert pages == 3
    acting = call(api_client_, "get", "/api/v1/clients", {"domain": "AFFILIATIONS", "level": "act"})
    assert len(acting.json()["items"]) == 2
    later = (time.now() + dt.timedelta(minutes=1)).isoformat()
    since = call(
        api_client_, "get", "/api/v1/clients", {"domain": "AFFILIATIONS", "changed_since": later}
    )
    assert since.json()["items"] == []


def test_clients_errors(api_client_: ApiClient) -> None:
    problem(
        call(api_client_, "get", "/api/v1/clients", {"domain": "BILLING"}), 403, "scope_missing"
    )
    params = {"domain": "EMPLOYER", "level": "act"}
    problem(call(api_client_, "get", "/api/v1/clients", params), 403, "scope_missing")
    params = {"domain": "AFFILIATIONS", "limit": 0}
    problem(call(api_client_, "get", "/api/v1/clients", params), 422, "limit_invalid")
    params = {"domain": "AFFILIATIONS", "cursor": "abc"}
    problem(call(api_client_, "get", "/api/v1/clients", params), 422, "invalid_input")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_changed_since_beyond_the_calendar_in_utc_is_422(
    api_client_: ApiClient, moment: str
) -> None:
    params = {"domain": "AFFILIATIONS", "changed_since": moment}
    body = problem(
        call(api_client_, "get", "/api/v1/clients", params), 422, "changed_since_invalid"
    )
    assert body["invalid-params"][0]["name"] == "changed_since"


def test_a_changed_since_at_the_calendar_edges_in_utc_is_fine(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    factories.mandate(employer_=employer, space=firm)
    params = {"domain": "AFFILIATIONS", "changed_since": "0001-01-01T00:00:00Z"}
    found = call(api_client_, "get", "/api/v1/clients", params)
    assert found.status_code == 200, found.content
    assert len(found.json()["items"]) == 1


# --- mandates ---------------------------------------------------------------------------------


def test_mandates_list_and_get(api_client_: ApiClient, firm: Space, employer: Employer) -> None:
    held = factories.mandate(employer_=employer, space=firm)
    other_space = factories.space_of(factories.representative().organisation)
    elsewhere = factories.mandate(employer_=employer, space=other_space)
    factories.mandate(employer_=employer, space=firm, domain_code="BILLING")  # out of scope
    listed = call(api_client_, "get", "/api/v1/mandates").json()
    assert [m["id"] for m in listed["items"]] == [held.pk]
    assert listed["next_cursor"] is None
    got = call(api_client_, "get", f"/api/v1/mandates/{held.pk}")
    assert got.status_code == 200
    assert got.json()["employer"]["employer_number"] == employer.employer_number
    problem(call(api_client_, "get", f"/api/v1/mandates/{elsewhere.pk}"), 404, "not_found")
    problem(call(api_client_, "get", "/api/v1/mandates/999999"), 404, "not_found")


def test_renounce_ends_an_obtained_mandate_and_names_the_client_in_the_audit(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    held = factories.mandate(employer_=employer, space=firm)
    response = call(
        api_client_, "post", f"/api/v1/mandates/{held.pk}/renounce", {"reason": "contract ended"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "revoked"
    assert response.json()["end_cause"] == "renounced"
    event = AuditEvent.objects.filter(action="mandate.renounced").get()
    assert event.actor_id is None
    assert event.data["api_client"] == api_client_.client_id
    problem(
        call(api_client_, "post", f"/api/v1/mandates/{held.pk}/renounce"),
        409,
        "mandate_wrong_state",
    )


def test_renounce_needs_the_act_scope(firm: Space, employer: Employer) -> None:
    consulting = factories.api_client(firm, (("AFFILIATIONS", "consult"),))
    held = factories.mandate(employer_=employer, space=firm)
    problem(call(consulting, "post", f"/api/v1/mandates/{held.pk}/renounce"), 403, "scope_missing")
    assert Mandate.objects.get(pk=held.pk).status == MandateStatus.ACTIVE


def test_the_employers_own_certified_space_revokes_a_mandate(employer: Employer) -> None:
    own = factories.space_of(employer.organisation)
    factories.mandate(employer_=employer, space=own, level="act")  # the primary mandate
    firm = factories.space_of(factories.salary_sa().organisation)
    given = factories.mandate(employer_=employer, space=firm)
    own_client = factories.api_client(own, (("AFFILIATIONS", "act"),))
    listed = call(own_client, "get", "/api/v1/mandates", {"role": "granted"}).json()["items"]
    assert given.pk in [m["id"] for m in listed]
    response = call(own_client, "post", f"/api/v1/mandates/{given.pk}/revoke", {})
    assert response.status_code == 200, response.content
    assert response.json()["end_cause"] == "revoked"
    # the firm's client cannot revoke a mandate it holds: it renounces
    firm_client = factories.api_client(firm, (("AFFILIATIONS", "act"),))
    other = factories.mandate(employer_=employer, space=firm, domain_code="AFFILIATIONS")
    problem(
        call(firm_client, "post", f"/api/v1/mandates/{other.pk}/revoke"), 403, "revoke_forbidden"
    )


def test_the_own_space_may_not_revoke_its_primary_mandate(employer: Employer) -> None:
    own = factories.space_of(employer.organisation)
    primary = factories.mandate(employer_=employer, space=own, level="act")
    own_client = factories.api_client(own, (("AFFILIATIONS", "act"),))
    response = call(own_client, "post", f"/api/v1/mandates/{primary.pk}/revoke", {})
    problem(response, 409, "revoke_primary")
    assert Mandate.objects.get(pk=primary.pk).status == MandateStatus.ACTIVE
    assert not AuditEvent.objects.filter(action="mandate.revoked").exists()


def test_an_uncertified_employer_space_may_not_revoke(employer: Employer) -> None:
    own = factories.space_of(employer.organisation)
    firm = factories.space_of(factories.salary_sa().organisation)
    given = factories.mandate(employer_=employer, space=firm)
    own_client = factories.api_client(own, (("AFFILIATIONS", "act"),))
    response = call(own_client, "post", f"/api/v1/mandates/{given.pk}/revoke")
    problem(response, 403, "revoke_forbidden")


# --- events -----------------------------------------------------------------------------------


def test_events_feed_the_space_its_mandate_changes_by_cursor(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    other_space = factories.space_of(factories.representative().organisation)
    factories.mandate(employer_=employer, space=other_space)  # not ours
    held = factories.mandate(employer_=employer, space=firm)
    mandate_services.mandate_renounce_as_space(
        client=mandate_services.SpaceActor(space_id=firm.pk, client_id="x"), mandate=held
    )
    page = call(api_client_, "get", "/api/v1/events", {"limit": 1}).json()
    assert [(e["type"], e["mandate"]) for e in page["items"]] == [("granted", held.pk)]
    assert page["items"][0]["employer"] == employer.employer_number
    rest = call(api_client_, "get", "/api/v1/events", {"cursor": page["next_cursor"]}).json()
    assert [(e["type"], e["mandate"]) for e in rest["items"]] == [("renounced", held.pk)]
    again = call(api_client_, "get", "/api/v1/events", {"cursor": rest["next_cursor"]}).json()
    assert again["items"] == []
    assert again["next_cursor"] == rest["next_cursor"]


def test_a_quiet_space_s_cursor_moves_on_to_the_head(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    other_space = factories.space_of(factories.representative().organisation)
    factories.mandate(employer_=employer, space=other_space)  # elsewhere
    first = call(api_client_, "get", "/api/v1/events").json()
    assert first["items"] == []
    head = AuditHead.objects.get(pk=1).seq
    assert int(first["next_cursor"]) >= head > 0
    for _ in range(3):
        factories.mandate(employer_=factories.employer(), space=other_space)
    later = call(api_client_, "get", "/api/v1/events", {"cursor": first["next_cursor"]}).json()
    assert later["items"] == []
    assert int(later["next_cursor"]) >= AuditHead.objects.get(pk=1).seq > head


def test_a_full_events_page_ends_at_its_last_event(
    api_client_: ApiClient, firm: Space, employer: Employer
) -> None:
    held = factories.mandate(employer_=employer, space=firm)
    other_space = factories.space_of(factories.representative().organisation)
    factories.mandate(employer_=factories.employer(), space=other_space)  # after ours
    page = call(api_client_, "get", "/api/v1/events", {"limit": 1}).json()
    assert [e["mandate"] for e in page["items"]] == [held.pk]
    assert page["next_cursor"] == str(page["items"][0]["id"])  # more may follow
    assert int(page["next_cursor"]) < AuditHead.objects.get(pk=1).seq


def test_events_query_count_is_constant(api_client_: ApiClient, firm: Space) -> None:
    for _ in range(3):
        factories.mandate(employer_=factories.employer(), space=firm)
    warm(api_client_)
    with CaptureQueriesContext(connection) as queries:
        assert len(call(api_client_, "get", "/api/v1/events").json()["items"]) == 3
    few = len(queries)
    for _ in range(3):
        factories.mandate(employer_=factories.employer(), space=firm)
    with CaptureQueriesContext(connection) as queries:
        assert len(call(api_client_, "get", "/api/v1/events").json()["items"]) == 6
    assert len(queries) == few
