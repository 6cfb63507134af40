from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.documents.models import Delivery, Notice, NoticeKind
from mandat.portal.selectors import NOTICES_SHOWN
from mandat.spaces import services as space_services
from mandat.spaces.models import Space
from tests import factories
from tests.portal.inbox_builders import edelivery, edelivery_to, statement

pytestmark = pytest.mark.django_db

_CSRF_VALUE = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def _lang(body: bytes) -> str:
    found = re.search(rb'<html[^>]*\slang="([^"]+)"', body)
    assert found is not None, "the page has no <html lang>"
    return found.group(1).decode()


def _without_csrf_tokens(body: bytes) -> bytes:
    """Each render masks the CSRF token afresh, so it is left out of a comparison."""
    return _CSRF_VALUE.sub(rb"\1\2", body)


@pytest.fixture
def member() -> User:
    return factories.user("member", first_name="Mia", last_name="Member")


@pytest.fixture
def space(member: User) -> Space:
    return factories.space_of(factories.organisation("Garage Muller S.à r.l."), admin=member)


def test_the_login_page_renders_its_form(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = response.content
    assert b'name="login"' in body  # a username or an e-mail address
    assert b'name="password"' in body
    assert b'type="password"' in body


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_an_anonymous_visitor_cannot_open_a_space(client: Client, space: Space) -> None:
    response = client.get(reverse("portal:space", args=[space.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_person_logs_in_and_lands_on_their_spaces(
    client: Client, member: User, space: Space
) -> None:
    response = client.post(reverse("login"), {"login": "member", "password": "pw"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")
    assert "Garage Muller S.à r.l." in response.content.decode()


def test_a_wrong_password_keeps_the_person_on_the_login_page(client: Client, member: User) -> None:
    response = client.post(reverse("login"), {"login": "member", "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert client.get("/").status_code == 302


def test_a_member_sees_their_spaces_and_only_theirs(
    client: Client, member: User, space: Space
) -> None:
    private = space_services.space_create(by=member, kind="private", name="Mia's own space")
    factories.space_of(factories.organisation("Somebody Else S.A."))
    client.force_login(member)
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Garage Muller S.à r.l." in page
    assert "Mia&#x27;s own space" in page
    assert reverse("portal:space", args=[space.pk]) in page
    assert reverse("portal:space", args=[private.pk]) in page
    assert "Somebody Else" not in page


def test_the_overview_leaves_members_and_clients_to_their_own_tabs(
    client: Client, member: User, space: Space
) -> None:
    colleague = factories.user(first_name="Colin", last_name="Colleague")
    space_services.member_add(by=member, space=space, user=colleague)
    client.force_login(member)
    response = client.get(reverse("portal:space", args=[space.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Garage Muller S.à r.l." in page
    assert "Colin Colleague" not in page
    assert "active mandates from clients" not in page
    assert "Latest documents" in page
    assert "The Inbox is empty." in page
    assert f'href="{reverse("portal:inbox", args=[space.pk])}"' in page


def test_the_overview_shows_the_latest_documents_and_the_arrival_notice(
    client: Client, member: User, settings: Settings, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    employer = factories.employer("Boulangerie Demo S.à r.l.")
    own_space = factories.space_of(employer.organisation, admin=member)
    edelivery(own_space, employer, "BILLING")
    made = [statement(employer, "BILLING", month) for month in range(3, 10)]
    client.force_login(member)
    response = client.get(reverse("portal:space", args=[own_space.pk]), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    shown = [d for d in made if reverse("portal:ebox_letter", args=[own_space.pk, d.pk]) in page]
    assert shown == made[-5:], "the five newest only"
    assert "All documents in the Inbox (7 unread)" in page
    assert "New document in the e-Box" in page
    assert page.count(f'href="{reverse("portal:inbox", args=[own_space.pk])}"') >= 8


def test_a_certified_space_lists_its_certifications(client: Client, member: User) -> None:
    employer = factories.employer("Boulangerie Demo S.à r.l.")
    own_space = factories.space_of(employer.organisation, admin=member)
    factories.mandate(employer_=employer, space=own_space, domain_code="BILLING")
    client.force_login(member)
    response = client.get(reverse("portal:space", args=[own_space.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Billing and accounting" in response.content.decode()


def test_a_space_of_others_answers_exactly_like_a_missing_one(client: Client, space: Space) -> None:
    client.force_login(factories.user())
    missing_id = (Space.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    forbidden = client.get(reverse("portal:space", args=[space.pk]))
    missing = client.get(reverse("portal:space", args=[missing_id]))
    assert forbidden.status_code == missing.status_code == 404
    assert _without_csrf_tokens(forbidden.content) == _without_csrf_tokens(missing.content)
    assert b"Garage Muller" not in forbidden.content


def test_a_removed_member_gets_the_same_404(client: Client, member: User, space: Space) -> None:
    leaver = factories.user()
    membership = space_services.member_add(by=member, space=space, user=leaver)
    client.force_login(leaver)
    assert client.get(reverse("portal:space", args=[space.pk])).status_code == 200
    space_services.member_remove(by=member, membership=membership)
    assert client.get(reverse("portal:space", args=[space.pk])).status_code == 404


# Language


def test_the_portal_speaks_french_by_default(client: Client) -> None:
    assert _lang(client.get(reverse("login")).content) == "fr"


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [("de-LU,de;q=0.9", "de"), ("en-GB,en;q=0.8", "en"), ("fr-LU", "fr"), ("es-ES,es", "fr")],
)
def test_the_page_language_follows_accept_language(
    client: Client, accept_language: str, expected: str
) -> None:
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=accept_language)
    assert _lang(response.content) == expected


@pytest.mark.parametrize("language", ["de", "en", "fr"])
def test_the_language_cookie_wins_over_accept_language(client: Client, language: str) -> None:
    assert settings.LANGUAGE_COOKIE_NAME == "django_language"
    client.cookies["django_language"] = language
    other = "en" if language != "en" else "de"
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=other)
    assert _lang(response.content) == language


def test_the_language_follows_a_logged_in_member_too(
    client: Client, member: User, space: Space
) -> None:
    client.force_login(member)
    client.cookies["django_language"] = "de"
    assert _lang(client.get("/").content) == "de"
    assert _lang(client.get(reverse("portal:space", args=[space.pk])).content) == "de"


def test_choosing_a_language_sets_the_cookie(client: Client) -> None:
    response = client.post(reverse("portal:language"), {"language": "de", "next": "/login/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "de"
    assert _lang(client.get(reverse("login")).content) == "de"


@pytest.fixture
def firm_with_mail(settings: Settings, tmp_path: Path) -> tuple[Space, User, User, list[Delivery]]:
    """A firm's space with mail from two clients, and a collaborator limited to the first."""
    settings.DATA_DIR = tmp_path
    boss, clerk = factories.user(), factories.user()
    space = factories.space_of(factories.representative("Fiduciaire Test").organisation, admin=boss)
    clients = [factories.employer("Client Allowed S.A."), factories.employer("Client Hidden S.A.")]
    for employer in clients:
        edelivery_to(space, employer, "BILLING")
    mail = [statement(employer, "BILLING") for employer in clients]
    space_services.member_add(by=boss, space=space, user=clerk, employers=clients[:1])
    Notice.objects.create(space=space, kind=NoticeKind.REQUEST_EXPIRED, params={"reference": "X"})
    return space, boss, clerk, mail


def test_a_restricted_collaborator_reads_only_the_notices_of_their_clients(
    client: Client, firm_with_mail: tuple[Space, User, User, list[Delivery]]
) -> None:
    space, boss, clerk, mail = firm_with_mail
    client.force_login(clerk)
    page = client.get(reverse("portal:space", args=[space.pk]), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "Client Allowed S.A." in text
    assert "Client Hidden S.A." not in text
    assert "certification request has expired" not in text
    hidden = Notice.objects.get(delivery=mail[1])
    expired = Notice.objects.get(kind=NoticeKind.REQUEST_EXPIRED)
    for notice in (hidden, expired):
        url = reverse("portal:notice_read", args=[space.pk, notice.pk])
        assert client.post(url).status_code == 404
        notice.refresh_from_db()
        assert notice.read_at is None
    allowed = Notice.objects.get(delivery=mail[0])
    assert (
        client.post(reverse("portal:notice_read", args=[space.pk, allowed.pk])).status_code == 302
    )
    allowed.refresh_from_db()
    assert allowed.read_at is not None
    # The administrator reads them all.
    client.force_login(boss)
    text = client.get(
        reverse("portal:space", args=[space.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Client Hidden S.A." in text and "certification request has expired" in text


def test_the_overview_shows_the_newest_notices_and_counts_the_rest(
    client: Client, member: User, space: Space
) -> None:
    Notice.objects.bulk_create(
        Notice(space=space, kind=NoticeKind.REQUEST_REJECTED, params={"reason": f"reason {n}"})
        for n in range(NOTICES_SHOWN + 3)
    )
    client.force_login(member)
    text = client.get(
        reverse("portal:space", args=[space.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert text.count("Mark as read") == NOTICES_SHOWN
    assert "And 3 older unread notices." in text
