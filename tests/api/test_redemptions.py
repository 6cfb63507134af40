"""POST /api/v1/redemptions and /redemptions/csv: bulk redemption as the calling space."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import Settings

from mandat.api.models import ApiClient
from mandat.certification.models import AccessCode
from mandat.core import codes
from mandat.core.models import AuditEvent
from mandat.mandates.models import Mandate
from tests import factories
from tests.certification.test_bulk import DELEGATED, Letters, issue, typo
from tests.factories import SECURITY_CODE, CertificationWorld

pytestmark = pytest.mark.django_db

URL = "/api/v1/redemptions"


@pytest.fixture(autouse=True)
def _keys_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""


@pytest.fixture
def world() -> CertificationWorld:
    return factories.certification_world()


@pytest.fixture
def letters(world: CertificationWorld) -> Letters:
    return issue(world)


def bearer(world: CertificationWorld, *scopes: tuple[str, str]) -> dict[str, str]:
    """The Authorization header of a new client of Salary S.A.'s space with ``scopes``.

    Without ``scopes``, the client may act in every domain the letters delegate.
    """
    client = factories.api_client(
        world.salary_space,
        scopes or tuple((domain, "act") for domain in DELEGATED),
        admin=world.salary_admin,
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(client)}"}


def post(client: Client, body: Any, headers: dict[str, str]) -> Any:
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)


def test_lines_are_redeemed_and_a_replay_is_harmless(
    client: Client, world: CertificationWorld, letters: Letters
) -> None:
    headers = bearer(world)
    body = {
        "lines": [
            {"access_code": letters.representative["EMPLOYER"], "security_code": SECURITY_CODE},
            {"access_code": typo(letters.representative["AFFILIATIONS"]), "security_code": "x"},
            {"access_code": letters.representative["AFFILIATIONS"], "security_code": "Wrong"},
            {"access_code": letters.holder["EMPLOYER"], "security_code": SECURITY_CODE},
            {"access_code": "", "security_code": SECURITY_CODE},
        ]
    }

    response = post(client, body, headers)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert [(line["line"], line["status"], line["ok"]) for line in answer["lines"]] == [
        (1, "redeemed", True),
        (2, "code_typo", False),
        (3, "code_unknown", False),
        (4, "wrong_kind", False),
        (5, "line_invalid", False),
    ]
    assert (answer["redeemed"], answer["already_redeemed_here"], answer["failed"]) == (1, 0, 4)
    mandate = Mandate.objects.get(grantee_space=world.salary_space, employer=letters.employer)
    valid_from = dt.datetime.fromisoformat(answer["lines"][0]["mandate"].pop("valid_from"))
    assert abs(valid_from - mandate.valid_from) < dt.timedelta(milliseconds=1)
    assert answer["lines"][0]["mandate"] == {
        "id": mandate.pk,
        "employer": {
            "employer_number": letters.employer.employer_number,
            "name": letters.employer.name,
        },
        "domain": {"institution": "CCSS", "code": "EMPLOYER"},
        "level": "consult",
        "status": "active",
        "valid_until": None,
    }
    assert answer["lines"][4]["field"] == "access_code"

    replay = post(client, body, headers).json()

    assert [line["status"] for line in replay["lines"]] == [
        "already_redeemed_here",
        "code_typo",
        "code_unknown",
        "wrong_kind",
        "line_invalid",
    ]
    assert replay["lines"][0]["mandate"]["id"] == mandate.pk
    assert Mandate.objects.filter(grantee_space=world.salary_space).count() == 1


def test_the_call_acts_as_the_space_and_names_the_client(
    client: Client, world: CertificationWorld, letters: Letters
) -> None:
    headers = bearer(world)
    body = {
        "lines": [
            {"access_code": letters.representative["EMPLOYER"], "security_code": SECURITY_CODE}
        ]
    }

    post(client, body, headers)

    event = AuditEvent.objects.filter(action="code.redeem_bulk").get()
    assert event.data["space"] == world.salary_space.pk
    assert event.data["client"] == ApiClient.objects.get(space=world.salary_space).client_id
    used = AccessCode.objects.get(
        digest=codes.digest(codes.normalize(letters.representative["EMPLOYER"]))
    )
    assert used.used_by is None and used.mandate is not None


def test_messages_follow_the_requested_language(
    client: Client, world: CertificationWorld, letters: Letters
) -> None:
    body = {"lines": [{"access_code": "K7QM", "security_code": "x"}]}

    english = post(client, body, {**bearer(world), "HTTP_ACCEPT_LANGUAGE": "en"}).json()
    french = post(client, body, {**bearer(world), "HTTP_ACCEPT_LANGUAGE": "fr"}).json()

    assert english["lines"][0]["status"] == french["lines"][0]["status"] == "code_typo"
    assert english["lines"][0]["message"] != french["lines"][0]["message"]


def test_more_than_500_lines_is_a_problem(client: Client, world: CertificationWorld) -> None:
    body = {"lines": [{"access_code": "A", "security_code": "b"}] * 501}

    response = post(client, body, bearer(world))

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_input"
    assert response.json()["invalid-params"][0]["name"] == "lines"


def test_a_consult_only_client_may_not_redeem(
    client: Client, world: CertificationWorld, letters: Letters
) -> None:
    body = {
        "lines": [
            {"access_code": letters.representative["EMPLOYER"], "security_code": SECURITY_CODE}
        ]
    }

    response = post(client, body, bearer(world, ("AFFILIATIONS", "consult")))

    assert response.status_code == 403
    assert response.json()["type"] == "urn:mandat:problem:scope_act_required"
    assert not Mandate.objects.filter(employer=letters.employer).exists()


def test_a_line_outside_the_clients_act_domains_is_scope_missing(
    client: Client, world: CertificationWorld, letters: Letters
) -> None:
    # The client may act in AFFILIATIONS only; it may merely consult EMPLOYER.
    headers = bearer(world, ("AFFILIATIONS", "act"), ("EMPLOYER", "consult"))
    employer_code = letters.representative["EMPLOYER"]
    body = {
        "lines": [
            {"access_code": employer_code, "security_code": SECURITY_CODE},
            {"access_code": letters.representative["REMUNERATIONS"], "security_code": "Wrong"},
            {"access_code": letters.representative["AFFILIATIONS"], "security_code": SECURITY_CODE},
        ]
    }

    answer = post(client, body, headers).json()
    replay = post(client, body, headers).json()

    assert [(line["status"], line["ok"]) for line in answer["lines"]] == [
        ("scope_missing", False),
        ("code_unknown", False),  # a wrong security code tells no scope, as ever
        ("redeemed", True),
    ]
    assert answer["lines"][0]["mandate"] is None
    assert answer["lines"][0]["message"]
    assert (answer["redeemed"], answer["failed"]) == (1, 2)
    assert [line["status"] for line in replay["lines"]] == [
        "scope_missing",
        "code_unknown",
        "already_redeemed_here",
    ]
    # Neither used nor counted: a client that may act in EMPLOYER redeems it afterwards.
    outside = AccessCode.objects.get(digest=codes.digest(codes.normalize(employer_code)))
    assert (outside.used_at, outside.failed_attempts, outside.locked_at) == (None, 0, None)
    remunerations = letters.representative["REMUNERATIONS"]
    wrong = AccessCode.objects.get(digest=codes.digest(codes.normalize(remunerations)))
    assert wrong.failed_attempts == 2
    assert [
        line["status"]
        for line in post(client, body, bearer(world, ("EMPLOYER", "act"))).json()["lines"]
    ] == ["redeemed", "code_unknown", "scope_missing"]
    failed = AuditEvent.objects.filter(action="code.redeem_failed", data__reason="scope_missing")
    assert failed.count() == 3


def test_a_mandate_outside_the_clients_domains_is_not_shown_on_replay(
    client: Client, world: CertificationWorld, letters: Letters
) -> None:
    body = {
        "lines": [
            {"access_code": letters.representative["EMPLOYER"], "security_code": SECURITY_CODE}
        ]
    }
    assert post(client, body, bearer(world)).json()["lines"][0]["status"] == "redeemed"

    replay = post(client, body, bearer(world, ("AFFILIATIONS", "act"))).json()

    assert replay["lines"][0]["status"] == "scope_missing"
    assert replay["lines"][0]["mandate"] is None
    assert replay["already_redeemed_here"] == 0


@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}])
def test_without_a_valid_token_the_answer_is_401(
    client: Client, world: CertificationWorld, headers: dict[str, str]
) -> None:
    body = {"lines": [{"access_code": "A", "security_code": "b"}]}

    response = post(client, body, headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_portal_session_is_not_enough(client: Client, world: CertificationWorld) -> None:
    client.force_login(world.salary_admin)
    body = {"lines": [{"access_code": "A", "security_code": "b"}]}

    assert post(client, body, {}).status_code == 401


# --- CSV --------------------------------------------------------------------------------------


def upload(client: Client, data: bytes, headers: dict[str, str]) -> Any:
    file = SimpleUploadedFile("codes.csv", data, content_type="text/csv")
    return client.post(URL + "/csv", {"file": file}, **headers)


def test_a_csv_file_is_redeemed_line_by_line(
    client: Client, world: CertificationWorld, letters: Letters
) -> None:
    data = (
        "\ufeffaccess_code;security_code;client\n"
        f"{letters.representative['EMPLOYER']};{SECURITY_CODE};Boulangerie\n"
        f"{letters.representative['AFFILIATIONS']}\n"
        f"{letters.representative['REMUNERATIONS']};{SECURITY_CODE};Boulangerie\n"
    ).encode()
    headers = bearer(world)

    answer = upload(client, data, headers).json()
    replay = upload(client, data, headers).json()

    assert [(line["line"], line["status"]) for line in answer["lines"]] == [
        (2, "redeemed"),
        (3, "line_invalid"),
        (4, "redeemed"),
    ]
    assert [line["status"] for line in replay["lines"]] == [
        "already_redeemed_here",
        "line_invalid",
        "already_redeemed_here",
    ]


def test_a_csv_line_outside_the_clients_act_domains_is_scope_missing(
    client: Client, world: CertificationWorld, letters: Letters
) -> None:
    data = (
        "access_code,security_code\n"
        f"{letters.representative['EMPLOYER']},{SECURITY_CODE}\n"
        f"{letters.representative['AFFILIATIONS']},{SECURITY_CODE}\n"
        f"{letters.representative['REMUNERATIONS']},Wrong\n"
    ).encode()
    headers = bearer(world, ("AFFILIATIONS", "act"))

    answer = upload(client, data, headers).json()
    replay = upload(client, data, headers).json()

    assert [(line["line"], line["status"]) for line in answer["lines"]] == [
        (2, "scope_missing"),
        (3, "redeemed"),
        (4, "code_unknown"),
    ]
    assert [line["status"] for line in replay["lines"]] == [
        "scope_missing",
        "already_redeemed_here",
        "code_unknown",
    ]
    assert Mandate.objects.filter(grantee_space=world.salary_space).count() == 1


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xff\xfe binary", "csv_unreadable"),
        (b"code,secret\nA,b\n", "csv_unreadable"),
        (b"access_code,security_code\n" + b"A,b\n" * 501, "too_many_lines"),
    ],
)
def test_an_unreadable_file_is_a_problem(
    client: Client, world: CertificationWorld, data: bytes, code: str
) -> None:
    response = upload(client, data, bearer(world))

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_a_csv_upload_without_a_file_is_a_problem(
    client: Client, world: CertificationWorld
) -> None:
    response = client.post(URL + "/csv", {}, **bearer(world))

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
