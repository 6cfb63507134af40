"""The Inbox tab: documents per employer and domain, filters, pages, read and unread, PDF."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.core.models import AuditEvent
from mandat.documents.models import Delivery, Notice
from mandat.portal import inbox_views
from mandat.registry.models import Employer
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Space
from tests import factories
from tests.portal.inbox_builders import edelivery, edelivery_to, statement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path


@pytest.fixture
def boss() -> User:
    return factories.user("boss", first_name="Bea", last_name="Boss")


@pytest.fixture
def employer() -> Employer:
    return factories.employer("Boulangerie Test S.à r.l.")


@pytest.fixture
def space(boss: User, employer: Employer) -> Space:
    own = factories.space_of(employer.organisation, admin=boss)
    edelivery(own, employer, "BILLING", "AFFILIATIONS")
    return own


def _client(user: User) -> Client:
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(user)
    return web


def _inbox(space: Space, **query: str) -> str:
    return reverse("portal:inbox", args=[space.pk]) + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


def _ids(response: object) -> list[int]:
    page = response.context["page"]  # type: ignore[attr-defined]
    return [d.pk for d in page.object_list]


def test_the_inbox_lists_read_and_unread_documents_newest_first(
    boss: User, space: Space, employer: Employer
) -> None:
    older = statement(employer, "BILLING", 9)
    newer = statement(employer, "AFFILIATIONS", 10)
    web = _client(boss)
    web.get(reverse("portal:ebox_letter", args=[space.pk, older.pk]))
    response = web.get(_inbox(space))
    assert response.status_code == 200
    assert _ids(response) == [newer.pk, older.pk]
    page = response.content.decode()
    assert 'aria-current="page">Inbox</a>' in page
    assert "1 unread document." in page
    assert "Statement of contributions – October 2026" in page
    assert "Statement of contributions – September 2026" in page
    assert "Billing and accounting" in page and "Employee affiliations" in page
    assert reverse("portal:delivery_read", args=[space.pk, newer.pk]) in page
    assert reverse("portal:delivery_unread", args=[space.pk, older.pk]) in page
    assert "Read by Bea Boss" in page
    assert reverse("portal:ebox_letter", args=[space.pk, newer.pk]) in page


def test_the_inbox_filters_by_employer_domain_and_unread(boss: User, employer: Employer) -> None:
    firm = factories.space_of(
        factories.representative("Fiduciaire Test S.A.").organisation, admin=boss
    )
    weber = factories.employer("Garage Weber S.A.")
    edelivery_to(firm, employer, "BILLING", "AFFILIATIONS")
    edelivery_to(firm, weber, "BILLING")
    ours = statement(employer, "BILLING")
    theirs = statement(weber, "BILLING")
    affiliations = statement(employer, "AFFILIATIONS")
    web = _client(boss)
    web.post(reverse("portal:delivery_read", args=[firm.pk, ours.pk]))
    assert set(_ids(web.get(_inbox(firm, employer="weber")))) == {theirs.pk}
    number = weber.employer_number
    assert set(_ids(web.get(_inbox(firm, employer=number)))) == {theirs.pk}
    assert set(_ids(web.get(_inbox(firm, domain="AFFILIATIONS")))) == {affiliations.pk}
    assert set(_ids(web.get(_inbox(firm, unread="1")))) == {theirs.pk, affiliations.pk}
    both = web.get(_inbox(firm, unread="1", domain="BILLING", employer="Boulangerie"))
    assert _ids(both) == []
    assert "No document matches these filters." in both.content.decode()
    kept = web.get(_inbox(firm, employer="weber", domain="BILLING")).content.decode()
    assert 'value="weber"' in kept
    assert '<option value="BILLING" selected>' in kept


def test_the_inbox_is_paginated_and_keeps_its_filters_between_pages(
    boss: User, space: Space, employer: Employer
) -> None:
    made = [statement(employer, "BILLING", month) for month in (7, 8, 9)]
    web = _client(boss)
    with mock.patch.object(inbox_views, "PAGE_SIZE", 2):
        first = web.get(_inbox(space, domain="BILLING"))
        second = web.get(_inbox(space, domain="BILLING", page="2"))
        beyond = web.get(_inbox(space, domain="BILLING", page="99"))
    assert _ids(first) == [made[2].pk, made[1].pk]
    assert _ids(second) == [made[0].pk]
    assert _ids(beyond) == [made[0].pk], "a page past the end shows the last one"
    page = first.content.decode()
    assert "Page 1 of 2" in page
    assert "?domain=BILLING&amp;page=2" in page


def test_downloading_gives_the_pdf_marks_it_read_and_audits(
    boss: User, space: Space, employer: Employer
) -> None:
    delivery = statement(employer)
    seq = factories.audit_seq()
    response = _client(boss).get(reverse("portal:ebox_letter", args=[space.pk, delivery.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert "no-store" in response["Cache-Control"]
    delivery.refresh_from_db()
    assert delivery.read_by == boss and delivery.read_at is not None
    actions = [e.action for e in factories.audit_events_since(seq)]
    assert actions == ["delivery.read", "delivery.downloaded"]
    assert not Notice.objects.filter(space=space, read_at__isnull=True).exists()


def test_mark_read_and_unread_are_posts_that_come_back_to_the_same_inbox_page(
    boss: User, space: Space, employer: Employer
) -> None:
    delivery = statement(employer)
    web = _client(boss)
    read = reverse("portal:delivery_read", args=[space.pk, delivery.pk])
    unread = reverse("portal:delivery_unread", args=[space.pk, delivery.pk])
    assert web.get(read).status_code == 405
    back = _inbox(space, unread="1", page="1")
    response = web.post(read, {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    delivery.refresh_from_db()
    assert delivery.read_at is not None
    response = web.post(unread, {"next": "https://evil.example/phish"})
    assert response["Location"] == _inbox(space), "no open redirect"
    delivery.refresh_from_db()
    assert delivery.read_at is None and delivery.read_by is None
    assert AuditEvent.objects.filter(action="delivery.unread").count() == 1


def test_csrf_protects_mark_as_read(boss: User, space: Space, employer: Employer) -> None:
    delivery = statement(employer)
    web = Client(enforce_csrf_checks=True)
    web.force_login(boss)
    response = web.post(reverse("portal:delivery_read", args=[space.pk, delivery.pk]))
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.read_at is None


def test_a_restricted_collaborator_neither_sees_nor_opens_forbidden_documents(
    boss: User, space: Space, employer: Employer
) -> None:
    billing = statement(employer, "BILLING")
    affiliations = statement(employer, "AFFILIATIONS")
    codes = Delivery.objects.get(pk=statement(employer, "BILLING").pk)
    codes.letter.kind = "holder_codes"
    codes.letter.save(update_fields=["kind"])
    clerk = factories.user(first_name="Carl", last_name="Clerk")
    membership = space_services.member_add(by=boss, space=space, user=clerk)
    Membership.objects.filter(pk=membership.pk).update(restrict_domains=True)
    membership.allowed_domains.set([factories.domain("BILLING")])
    web = _client(clerk)

    response = web.get(_inbox(space))
    assert _ids(response) == [billing.pk], "no AFFILIATIONS document, no letter with codes"
    page = response.content.decode()
    assert reverse("portal:ebox_letter", args=[space.pk, affiliations.pk]) not in page
    assert "1 unread document." in page
    assert reverse("portal:ebox_letter", args=[space.pk, billing.pk]) in page
    for forbidden in (affiliations, codes):
        for url in (reverse("portal:ebox_letter", args=[space.pk, forbidden.pk]),):
            assert web.get(url).status_code == 404
        for name in ("portal:delivery_read", "portal:delivery_unread"):
            assert web.post(reverse(name, args=[space.pk, forbidden.pk])).status_code == 404
    overview = web.get(reverse("portal:space", args=[space.pk])).content.decode()
    assert reverse("portal:ebox_letter", args=[space.pk, affiliations.pk]) not in overview
    home = web.get(reverse("portal:home")).content.decode()
    assert "1 unread document" in home
    assert web.get(reverse("portal:ebox_letter", args=[space.pk, billing.pk])).status_code == 200
    assert _ids(_client(boss).get(_inbox(space))) == [codes.pk, affiliations.pk, billing.pk]


def test_outsiders_get_the_same_404_as_for_a_missing_space_or_document(
    space: Space, employer: Employer
) -> None:
    delivery = statement(employer)
    stranger = factories.user()
    own = factories.space_of(factories.organisation(), admin=stranger)
    web = _client(stranger)
    missing_space = (Space.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    missing_delivery = (Delivery.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    assert web.get(_inbox(space)).status_code == 404
    assert web.get(reverse("portal:inbox", args=[missing_space])).status_code == 404
    for space_id, delivery_id in [
        (space.pk, delivery.pk),
        (own.pk, delivery.pk),
        (own.pk, missing_delivery),
    ]:
        assert (
            web.get(reverse("portal:ebox_letter", args=[space_id, delivery_id])).status_code == 404
        )
        for name in ("portal:delivery_read", "portal:delivery_unread"):
            assert web.post(reverse(name, args=[space_id, delivery_id])).status_code == 404
    delivery.refresh_from_db()
    assert delivery.read_at is None
    assert Client().get(_inbox(space)).status_code == 302, "anonymous: to the login page"


def test_an_empty_inbox_says_how_documents_arrive(boss: User) -> None:
    lone = factories.space_of(factories.organisation(), admin=boss)
    page = _client(boss).get(_inbox(lone)).content.decode()
    assert "The Inbox is empty." in page
