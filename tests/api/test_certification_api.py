"""Procedures B and C through the HTTP API, with the session and its CSRF token.

Every response is checked against the OpenAPI document the API publishes: its
status is declared for the operation, its media type too, and its body has the
declared properties.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client

from mandat.accounts.models import User
from mandat.api.api import api
from mandat.certification.issuing import request_issue
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind
from mandat.mandates.models import Mandate, MandateStatus
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Space
from tests import factories

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as HttpResponse

pytestmark = pytest.mark.django_db

SEED_DOMAINS = ["EMPLOYER", "AFFILIATIONS", "REMUNERATIONS"]
SECURITY_CODE = "Tr3s-S3cr3"
PROBLEM = "application/problem+json"
World = factories.CertificationWorld


# --- the OpenAPI document as the oracle -----------------------------------------------------


@functools.cache
def _spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(api.get_openapi_schema()))
    return document


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = _spec()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def _operation(method: str, path: str) -> dict[str, Any]:
    for template, operations in _spec()["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            operation: dict[str, Any] = operations[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def conforms(method: str, path: str, response: HttpResponse) -> None:
    """The response is one the OpenAPI document declares for this operation."""
    declared = _operation(method, path)["responses"]
    status = str(response.status_code)
    assert status in declared, f"{method} {path} answered {status}, declared {sorted(declared)}"
    media_type = response["Content-Type"].split(";")[0]
    content = declared[status]["content"]
    assert media_type in content, f"{media_type} is not declared for {status}"
    schema = _resolve(content[media_type]["schema"])
    body = json.loads(response.content)
    assert set(schema.get("required", [])) <= set(body), body
    assert set(body) <= set(schema["properties"]), body


# --- a client that logs in with the session and sends the CSRF token ------------------------


class Api:
    def __init__(self, user: User | None = None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.token = ""
        if user is not None:
            self.client.force_login(user)
            self.token = self.get("/api/v1/session").json()["csrf_token"]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        csrf: bool = True,
        language: str | None = None,
        raw: str | None = None,
    ) -> HttpResponse:
        headers = {}
        if csrf and self.token:
            headers["X-CSRFToken"] = self.token
        if language:
            headers["Accept-Language"] = language
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        response: HttpResponse = self.client.generic(
            method, path, data, content_type="application/json", headers=headers
        )
        conforms(method, path, response)
        return response

    def get(self, path: str, **options: Any) -> HttpResponse:
        return self.call("GET", path, **options)

    def post(self, path: str, body: Any = None, **options: Any) -> HttpResponse:
        return self.call("POST", path, body, **options)

    def put(self, path: str, body: Any = None, **options: Any) -> HttpResponse:
        return self.call("PUT", path, body, **options)


def problem(response: HttpResponse, status: int, code: str) -> dict[str, Any]:
    """The response is the problem document of ``code``; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:mandat:problem:{code}"
    assert body["code"] == code
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


# --- the seed case --------------------------------------------------------------------------


@pytest.fixture
def seed() -> World:
    """The seed case: an employer with its own space, Salary S.A. with its space."""
    return factories.certification_world("Boulangerie Muller S.à r.l.")


def start(client: Api, space: Space) -> HttpResponse:
    return client.post(f"/api/v1/spaces/{space.pk}/certification-requests")


def url(request_id: int, step: str = "") -> str:
    return f"/api/v1/certification-requests/{request_id}" + (f"/{step}" if step else "")


def seed_delegations(level: str = "consult") -> list[dict[str, str]]:
    return [
        {
            "domain": code,
            "registration_number": "2020220124699",
            "name": "Salary S.A.",
            "level": level,
        }
        for code in SEED_DOMAINS
    ]


def answer_every_step(client: Api, request_id: int, employer: Employer) -> dict[str, Any]:
    """Steps 1 to 5 of the seed case; returns the last status document."""
    steps: list[tuple[str, dict[str, Any]]] = [
        ("consent", {"consent": True}),
        ("filer", {"name": "Anna Muller", "email": "anna@muller.lu", "phone": "+352 247 86 000"}),
        ("employer", {"employer_number": employer.employer_number, "employer_name": employer.name}),
        (
            "representatives",
            {
                "has_representative": True,
                "same_representative": True,
                "delegations": seed_delegations(),
            },
        ),
        ("security-code", {"security_code": SECURITY_CODE, "confirmation": SECURITY_CODE}),
    ]
    body: dict[str, Any] = {}
    for step, answer in steps:
        response = client.put(url(request_id, step), answer)
        assert response.status_code == 200, response.content
        body = response.json()
    return body


def letter_codes(request_id: int) -> dict[tuple[str, str], str]:
    """The codes of the request's letters, by (domain code, kind), as the employer reads them."""
    codes = factories.request_codes(CertificationRequest.objects.get(pk=request_id))
    delegated = {domain for domain, kind in codes if kind == "representative"}
    assert delegated == set(SEED_DOMAINS)
    return codes


def test_the_seed_case_end_to_end(seed: World) -> None:
    employer_api = Api(seed.boss)
    started = start(employer_api, seed.space)
    assert started.status_code == 201
    draft = started.json()
    request_id = draft["id"]
    assert draft["status"] == "draft"
    assert draft["reference"] == f"CR-{request_id:07d}"
    assert draft["employer"] == {
        "employer_number": seed.employer.employer_number,
        "name": seed.employer.name,
    }
    assert draft["missing_steps"] == [
        "consent",
        "filer",
        "employer",
        "representatives",
        "security_code",
    ]
    resumed = start(employer_api, seed.space)
    assert (resumed.status_code, resumed.json()["id"]) == (200, request_id)

    answered = answer_every_step(employer_api, request_id, seed.employer)
    assert answered["missing_steps"] == []
    delegations = answered["answers"]["representatives"]["delegations"]
    assert [d["domain"] for d in delegations] == SEED_DOMAINS
    assert all(d["representative_found"] and d["level"] == "consult" for d in delegations)

    status = employer_api.get(url(request_id))
    assert status.json()["answers"]["security_code_set"] is True
    assert SECURITY_CODE not in status.content.decode()

    signed = employer_api.post(url(request_id, "sign"))
    assert signed.status_code == 200, signed.content
    assert signed.json()["status"] == "signed"
    assert signed.json()["signed_at"] is not None
    transmitted = employer_api.post(url(request_id, "transmit"), {"confirm": True})
    assert transmitted.json()["status"] == "transmitted"

    request_issue(by=factories.agent(), request=CertificationRequest.objects.get(pk=request_id))
    issued = employer_api.get(url(request_id)).json()
    assert issued["status"] == "issued"
    deadline = dt.datetime.fromisoformat(issued["activation_deadline"])
    assert deadline - dt.datetime.fromisoformat(issued["issued_at"]) == dt.timedelta(days=30)

    codes = letter_codes(request_id)
    primary = employer_api.post(
        f"/api/v1/spaces/{seed.space.pk}/certifications",
        {
            "domain": "AFFILIATIONS",
            "kind": "holder",
            "code": codes["AFFILIATIONS", "holder"],
            "security_code": SECURITY_CODE,
        },
    )
    assert primary.status_code == 201, primary.content
    assert primary.json()["kind"] == "primary"
    assert primary.json()["level"] == "act"
    assert primary.json()["space_id"] == seed.space.pk

    salary_api = Api(seed.salary_admin)
    obtained = salary_api.post(
        f"/api/v1/spaces/{seed.salary_space.pk}/certifications",
        {
            "domain": "AFFILIATIONS",
            "kind": "representative",
            "code": codes["AFFILIATIONS", "representative"].replace("-", " ").lower(),
            "security_code": SECURITY_CODE,
        },
    )
    assert obtained.status_code == 201, obtained.content
    assert obtained.json()["kind"] == "obtained"
    assert obtained.json()["level"] == "consult"
    assert obtained.json()["status"] == "active"
    assert obtained.json()["employer"]["employer_number"] == seed.employer.employer_number

    public = Api()
    preview = public.post(
        "/api/v1/revocations/preview", {"code": codes["AFFILIATIONS", "revocation"]}
    )
    assert preview.status_code == 200
    assert preview.json()["certified"] is True
    assert preview.json()["domain"]["code"] == "AFFILIATIONS"
    assert preview.json()["employer"]["name"] == seed.employer.name

    revoked = public.post("/api/v1/revocations", {"code": codes["AFFILIATIONS", "revocation"]})
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["domain"]["code"] == "AFFILIATIONS"
    assert Mandate.objects.get(pk=primary.json()["id"]).status == MandateStatus.REVOKED
    problem(
        public.post("/api/v1/revocations", {"code": codes["AFFILIATIONS", "revocation"]}),
        409,
        "revocation_code_used",
    )
    problem(
        public.post("/api/v1/revocations", {"code": codes["EMPLOYER", "revocation"]}),
        409,
        "nothing_to_revoke",
    )


# --- status transitions ---------------------------------------------------------------------


def test_each_transition_refuses_the_wrong_state(seed: World) -> None:
    client = Api(seed.boss)
    request_id = start(client, seed.space).json()["id"]
    incomplete = problem(client.post(url(request_id, "sign")), 409, "request_incomplete")
    assert "invalid-params" not in incomplete
    problem(client.post(url(request_id, "transmit"), {"confirm": True}), 409, "request_wrong_state")
    problem(client.post(url(request_id, "reopen")), 409, "request_wrong_state")

    answer_every_step(client, request_id, seed.employer)
    assert client.post(url(request_id, "sign")).json()["status"] == "signed"
    problem(client.put(url(request_id, "consent"), {"consent": True}), 409, "request_wrong_state")
    problem(start(client, seed.space), 409, "request_in_progress")

    reopened = client.post(url(request_id, "reopen")).json()
    assert (reopened["status"], reopened["signed_at"]) == ("draft", None)
    assert reopened["missing_steps"] == []
    assert client.post(url(request_id, "sign")).json()["status"] == "signed"

    refused = problem(
        client.post(url(request_id, "transmit"), {"confirm": False}), 422, "transmit_unconfirmed"
    )
    assert refused["invalid-params"] == [{"name": "confirm", "reason": refused["title"]}]
    assert client.post(url(request_id, "transmit"), {"confirm": True}).json()["status"] == (
        "transmitted"
    )
    problem(client.post(url(request_id, "reopen")), 409, "request_wrong_state")
    problem(client.post(url(request_id, "sign")), 409, "request_wrong_state")


# --- problem documents ----------------------------------------------------------------------


def test_a_business_refusal_names_its_field(seed: World) -> None:
    client = Api(seed.boss)
    request_id = start(client, seed.space).json()["id"]
    email = problem(
        client.put(
            url(request_id, "filer"), {"name": "Anna", "email": "anna", "phone": "+352 1234567"}
        ),
        422,
        "filer_email_invalid",
    )
    assert email["invalid-params"] == [{"name": "email", "reason": email["title"]}]
    employer = problem(
        client.put(
            url(request_id, "employer"),
            {"employer_number": seed.employer.employer_number, "employer_name": "Someone Else"},
        ),
        422,
        "employer_no_match",
    )
    assert [p["name"] for p in employer["invalid-params"]] == ["employer_number"]
    problem(
        client.put(
            url(request_id, "security-code"), {"security_code": "short", "confirmation": "short"}
        ),
        422,
        "security_code_length",
    )


def test_a_delegation_refusal_names_the_delegation_in_the_body(
    seed: World,
) -> None:
    client = Api(seed.boss)
    request_id = start(client, seed.space).json()["id"]
    delegations = seed_delegations()
    delegations[1]["name"] = "Not Salary"
    unknown = problem(
        client.put(
            url(request_id, "representatives"),
            {"has_representative": True, "same_representative": False, "delegations": delegations},
        ),
        422,
        "representative_no_match",
    )
    assert [p["name"] for p in unknown["invalid-params"]] == ["delegations.1.registration_number"]
    twice = problem(
        client.put(
            url(request_id, "representatives"),
            {
                "has_representative": True,
                "same_representative": True,
                "delegations": seed_delegations()[:1] * 2,
            },
        ),
        422,
        "delegation_domain_invalid",
    )
    assert [p["name"] for p in twice["invalid-params"]] == ["delegations"]


def test_a_body_that_breaks_the_schema_is_a_422_problem_naming_each_field(
    seed: World,
) -> None:
    client = Api(seed.boss)
    request_id = start(client, seed.space).json()["id"]
    missing = problem(client.put(url(request_id, "consent"), {}), 422, "invalid_input")
    assert [p["name"] for p in missing["invalid-params"]] == ["consent"]
    loose = problem(
        client.put(url(request_id, "consent"), {"consent": "yes"}), 422, "invalid_input"
    )
    assert [p["name"] for p in loose["invalid-params"]] == ["consent"]
    nested = problem(
        client.put(
            url(request_id, "representatives"),
            {"has_representative": True, "delegations": [{"domain": "EMPLOYER", "level": "all"}]},
        ),
        422,
        "invalid_input",
    )
    assert {p["name"] for p in nested["invalid-params"]} == {
        "delegations.0.registration_number",
        "delegations.0.name",
        "delegations.0.level",
    }
    path = problem(client.get(url(0)), 422, "invalid_input")
    assert [p["name"] for p in path["invalid-params"]] == ["request_id"]
    problem(client.put(url(request_id, "consent"), raw="{not json"), 400, "malformed_request")


def test_problems_speak_the_language_asked_for(seed: World) -> None:
    client = Api(seed.boss)
    typo = {"domain": "AFFILIATIONS", "kind": "holder", "code": "ABC", "security_code": "x"}
    path = f"/api/v1/spaces/{seed.space.pk}/certifications"
    titles = {
        language: problem(client.post(path, typo, language=language), 422, "code_typo")["title"]
        for language in ("fr", "de", "en")
    }
    assert titles["fr"].startswith("Ce code contient une faute de frappe")
    assert titles["de"].startswith("Dieser Code enthält einen Tippfehler")
    assert titles["en"].startswith("This code contains a typing error")
    assert problem(client.post(path, typo), 422, "code_typo")["title"] == titles["fr"]


def test_anonymous_callers_get_a_401_problem(seed: World) -> None:
    request_id = start(Api(seed.boss), seed.space).json()["id"]
    anonymous = Api()
    refused = problem(anonymous.get(url(request_id)), 401, "not_authenticated")
    assert "invalid-params" not in refused
    problem(anonymous.get("/api/v1/session"), 401, "not_authenticated")


# --- authorization --------------------------------------------------------------------------


def test_other_peoples_spaces_and_requests_are_404_like_missing_ones(
    seed: World,
) -> None:
    request_id = start(Api(seed.boss), seed.space).json()["id"]
    stranger = Api(seed.salary_admin)  # an administrator, of another space
    missing = problem(stranger.get(url(10**9)), 404, "not_found")
    hidden = problem(stranger.get(url(request_id)), 404, "not_found")
    assert hidden == missing
    for step, answer in [
        ("consent", {"consent": True}),
        ("security-code", {"security_code": SECURITY_CODE, "confirmation": SECURITY_CODE}),
    ]:
        assert problem(stranger.put(url(request_id, step), answer), 404, "not_found") == missing
    for action in ("sign", "reopen"):
        assert problem(stranger.post(url(request_id, action)), 404, "not_found") == missing
    problem(stranger.post(url(request_id, "transmit"), {"confirm": True}), 404, "not_found")

    problem(start(stranger, seed.space), 404, "not_found")
    problem(
        stranger.post(
            f"/api/v1/spaces/{seed.space.pk}/certifications",
            {"domain": "AFFILIATIONS", "kind": "holder", "code": "x", "security_code": "x"},
        ),
        404,
        "not_found",
    )
    assert CertificationRequest.objects.get(pk=request_id).consent_at is None


def test_a_collaborator_sees_the_space_but_may_not_file(seed: World) -> None:
    request_id = start(Api(seed.boss), seed.space).json()["id"]
    colleague = factories.user()
    space_services.member_add(by=seed.boss, space=seed.space, user=colleague)
    client = Api(colleague)
    problem(start(client, seed.space), 403, "space_admin_required")
    problem(client.get(url(request_id)), 404, "not_found")


def test_a_representatives_space_cannot_file(seed: World) -> None:
    problem(start(Api(seed.salary_admin), seed.salary_space), 403, "not_an_employer_space")


# --- CSRF -----------------------------------------------------------------------------------


def test_session_calls_that_change_something_need_the_csrf_token(
    seed: World,
) -> None:
    client = Api(seed.boss)
    problem(
        client.post(f"/api/v1/spaces/{seed.space.pk}/certification-requests", csrf=False),
        403,
        "csrf_failed",
    )
    assert not CertificationRequest.objects.exists()
    request_id = start(client, seed.space).json()["id"]
    problem(
        client.put(url(request_id, "consent"), {"consent": True}, csrf=False), 403, "csrf_failed"
    )
    assert CertificationRequest.objects.get(pk=request_id).consent_at is None
    assert client.get(url(request_id), csrf=False).status_code == 200


# --- redemption -----------------------------------------------------------------------------


def test_redemption_refusals(seed: World) -> None:
    employer = factories.employer()
    issued = factories.issued_request(employer, delegated={"AFFILIATIONS": "act"})
    codes = factories.request_codes(issued)
    client = Api(issued.created_by)
    space = Space.objects.get(organisation=employer.organisation)
    path = f"/api/v1/spaces/{space.pk}/certifications"
    code = codes["AFFILIATIONS", "holder"]
    redeem = {
        "domain": "AFFILIATIONS",
        "kind": "holder",
        "code": code,
        "security_code": "s3cret-42",
    }
    stored = AccessCode.objects.get(
        request=issued, kind=CodeKind.HOLDER, domain__code="AFFILIATIONS"
    )

    wrong = problem(
        client.post(path, redeem | {"security_code": "wrong-one"}), 422, "code_or_security_wrong"
    )
    assert [p["name"] for p in wrong["invalid-params"]] == ["code"]
    mistyped = ("3" if code[0] == "2" else "2") + code[1:]
    typo = problem(client.post(path, redeem | {"code": mistyped}), 422, "code_typo")
    assert [p["name"] for p in typo["invalid-params"]] == ["code"]
    stored.refresh_from_db()
    assert stored.failed_attempts == 1  # the wrong security code counted, the typo did not

    unknown = problem(client.post(path, redeem | {"domain": "NOPE"}), 422, "domain_unknown")
    assert [p["name"] for p in unknown["invalid-params"]] == ["domain"]
    problem(client.post(path, redeem | {"domain": "BILLING"}), 422, "code_wrong_domain")
    problem(client.post(path, redeem | {"kind": "representative"}), 422, "code_wrong_kind")
    assert client.post(path, redeem).status_code == 201
    problem(client.post(path, redeem), 409, "code_used")

    elsewhere = Api(seed.salary_admin).post(
        f"/api/v1/spaces/{seed.salary_space.pk}/certifications",
        redeem | {"domain": "EMPLOYER", "code": codes["EMPLOYER", "holder"]},
    )
    problem(elsewhere, 422, "code_wrong_space")

    public = Api()
    problem(public.post("/api/v1/revocations/preview", {"code": "nope"}), 422, "code_typo")
    problem(
        public.post("/api/v1/revocations/preview", {"code": codes["BILLING", "holder"]}),
        422,
        "revocation_code_wrong",
    )
    preview = public.post(
        "/api/v1/revocations/preview", {"code": codes["AFFILIATIONS", "revocation"]}
    )
    assert preview.json()["certified"] is True


# --- the published document -----------------------------------------------------------------


def test_the_document_declares_problems_and_the_only_public_operations() -> None:
    public = set()
    for path, operations in _spec()["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and operation["operationId"] != "oauth_token":
                    assert list(response["content"]) == [PROBLEM], (method, path, status)
                    assert response["content"][PROBLEM]["schema"]["$ref"].endswith("/Problem")
            if not operation.get("security"):
                public.add(f"{method.upper()} {path}")
    assert public == {
        "GET /api/v1/health",
        "POST /api/v1/revocations/preview",
        "POST /api/v1/revocations",
        "POST /api/v1/oauth/token",  # RFC 6749 errors, not problem documents
        "GET /api/v1/ping",  # the benchmark's empty endpoint
    }
