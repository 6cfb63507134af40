"""Every back-office page answers a stranger exactly like a page that does not exist."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from mandat.backoffice import urls
from mandat.certification.models import CertificationRequest
from mandat.documents import services as documents
from mandat.documents.models import DispatchBatch
from mandat.registry.models import Representative
from tests import factories

pytestmark = pytest.mark.django_db

MISSING = "/no-such-page/"


@pytest.fixture
def world() -> tuple[CertificationRequest, DispatchBatch]:
    request = factories.issued_request(delegated={"BILLING": "consult"})
    batch = documents.batch_create(by=factories.agent())
    return request, batch


def _urls(request: CertificationRequest, batch: DispatchBatch) -> dict[str, str]:
    letter = request.letters.first()
    assert letter is not None
    representative = Representative.objects.first() or factories.representative()
    ids = {
        "request_id": request.pk,
        "letter_id": letter.pk,
        "batch_id": batch.pk,
        "employer_id": request.employer_id,
        "representative_id": representative.pk,
    }
    found = {}
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        name = pattern.name
        assert name is not None
        kwargs = {key: ids[key] for key in pattern.pattern.converters}
        found[name] = reverse(f"backoffice:{name}", kwargs=kwargs)
    return found


def test_the_url_list_covers_every_page(world: tuple[CertificationRequest, DispatchBatch]) -> None:
    names = set(_urls(*world))
    assert {
        "home",
        "requests",
        "request",
        "request-issue",
        "request-reject",
        "letters",
        "letter-reprint",
        "batch-create",
        "batch-pdf",
        "batch-manifest",
        "batch-dispatch",
        "request-pdf",
        "registry",
        "employer",
        "employer-create",
        "employer-edit",
        "employer-audit",
        "employer-audit-verify",
        "employer-audit-export",
        "representative",
        "representative-create",
        "representative-edit",
    } <= names


_CSRF_TOKEN = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+(")')


def _without_csrf_token(body: bytes) -> bytes:
    return _CSRF_TOKEN.sub(rb"\1\2", body)


@pytest.mark.parametrize("who", ["anonymous", "member", "inactive agent"])
def test_a_non_agent_gets_the_missing_page_on_every_url(
    who: str, world: tuple[CertificationRequest, DispatchBatch]
) -> None:
    client = Client(enforce_csrf_checks=True)
    if who == "member":
        client.force_login(factories.user())
    elif who == "inactive agent":
        client.force_login(factories.user(agent=True, is_active=False))
    missing_get = client.get(MISSING)
    missing_post = client.post(MISSING)
    assert missing_get.status_code == missing_post.status_code == 404
    for name, url in _urls(*world).items():
        for method, missing in (("get", missing_get), ("post", missing_post)):
            response = getattr(client, method)(url)
            assert response.status_code == 404, (who, name, method, response.status_code)
            # Each page masks its CSRF token afresh; everything else must be identical.
            assert _without_csrf_token(response.content) == _without_csrf_token(missing.content), (
                who,
                name,
                method,
            )
            assert "Location" not in response


def test_an_agent_reaches_every_url(
    world: tuple[CertificationRequest, DispatchBatch], agent_client: Client
) -> None:
    for name, url in _urls(*world).items():
        response = agent_client.get(url)
        # POST-only actions answer GET with 405: they exist for an agent.
        assert response.status_code in (200, 405), (name, response.status_code)


def test_an_agent_still_needs_the_csrf_token(
    world: tuple[CertificationRequest, DispatchBatch], agent: object
) -> None:
    request, _ = world
    client = Client(enforce_csrf_checks=True)
    client.force_login(factories.user(agent=True))
    response = client.post(reverse("backoffice:request-reject", args=[request.pk]), {"reason": "x"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "issued"


def test_a_draft_is_not_visible_to_the_back_office(agent_client: Client) -> None:
    from mandat.certification import services as certification

    employer = factories.employer()
    admin = factories.user()
    space = factories.space_of(employer.organisation, admin=admin)
    draft = certification.request_start(by=admin, space=space, institution=factories.ccss())
    response = agent_client.get(reverse("backoffice:request", args=[draft.pk]))
    assert response.status_code == 404
