"""The request queue and one request's page: read, issue, reject, re-print."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mandat.catalog.models import Level
from mandat.certification.models import AccessCode, CertificationRequest, RequestStatus
from mandat.certification.services import request_reject
from mandat.core import time
from mandat.documents.models import Letter, LetterKind, LetterStatus
from tests import factories

pytestmark = pytest.mark.django_db

QUEUE = "/backoffice/requests/"
_REFERENCE = re.compile(r"CR-\d{7}")


def _references(response: object) -> list[str]:
    body = response.content.decode()  # type: ignore[attr-defined]
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    return _REFERENCE.findall(table)


def _ref(request: CertificationRequest) -> str:
    return f"CR-{request.pk:07d}"


def _sent_hours_ago(request: CertificationRequest, hours: float) -> None:
    CertificationRequest.objects.filter(pk=request.pk).update(
        transmitted_at=time.now() - dt.timedelta(hours=hours)
    )


def _rows(response: object) -> dict[str, list[str]]:
    """The queue's rows by reference, as the text of their cells."""
    body = response.content.decode()  # type: ignore[attr-defined]
    rows = {}
    for row in body.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("</tr>")[:-1]:
        cells = [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.split(r"<t[hd](?:\s[^>]*)?>", row)[1:]
        ]
        rows[cells[0]] = cells
    return rows


def _text(response: object) -> str:
    """The page's text with tags dropped and spaces collapsed."""
    body = response.content.decode()  # type: ignore[attr-defined]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


# --- the queue -------------------------------------------------------------------------------


def test_the_queue_shows_transmitted_requests_oldest_first_by_default(
    agent_client: Client,
) -> None:
    young, old, middle = (factories.transmitted_request() for _ in range(3))
    _sent_hours_ago(young, 1)
    _sent_hours_ago(old, 50)
    _sent_hours_ago(middle, 20)
    issued = factories.issued_request()
    rejected = factories.transmitted_request()
    request_reject(by=factories.agent(), request=rejected, reason="Wrong employer.")

    response = agent_client.get(QUEUE)

    assert response.status_code == 200
    assert _references(response) == [_ref(old), _ref(middle), _ref(young)]
    assert _ref(issued) not in response.content.decode()
    newest = agent_client.get(QUEUE, {"sort": "newest"})
    assert _references(newest) == [_ref(young), _ref(middle), _ref(old)]


def test_the_queue_filters_by_status(agent_client: Client) -> None:
    waiting = factories.transmitted_request()
    issued = factories.issued_request()
    rejected = factories.transmitted_request()
    request_reject(by=factories.agent(), request=rejected, reason="Wrong employer.")

    assert _references(agent_client.get(QUEUE, {"status": "issued"})) == [_ref(issued)]
    assert _references(agent_client.get(QUEUE, {"status": "rejected"})) == [_ref(rejected)]
    everything = agent_client.get(QUEUE, {"status": "all"})
    assert set(_references(everything)) == {_ref(waiting), _ref(issued), _ref(rejected)}
    assert "Rejected" in _text(everything)  # the status column appears for "all"
    # An unknown value shows the default view rather than an error.
    assert _references(agent_client.get(QUEUE, {"status": "bogus", "sort": "x"})) == [_ref(waiting)]


def test_the_queue_pages_by_fifty(agent_client: Client) -> None:
    requests = factories.transmitted_requests(53)
    for position, request in enumerate(requests):
        _sent_hours_ago(request, 100 - position)  # the first built is the oldest

    first = agent_client.get(QUEUE)
    second = agent_client.get(QUEUE, {"page": 2})

    assert _references(first) == [_ref(r) for r in requests[:50]]
    assert _references(second) == [_ref(r) for r in requests[50:]]
    assert "53 requests" in _text(first)
    assert "Page 1 of 2" in _text(first)
    assert 'href="?page=2"' in first.content.decode()
    newest_second = agent_client.get(QUEUE, {"sort": "newest", "page": "2"})
    assert _references(newest_second) == [_ref(r) for r in reversed(requests[:3])]
    # The page links keep the filter.
    assert 'href="?sort=newest&amp;page=1"' in newest_second.content.decode()


def test_the_queue_shows_the_wait_against_the_promise(agent_client: Client) -> None:
    assert settings.MANDAT_DISPATCH_PROMISE_HOURS == 72
    on_time = factories.transmitted_request(delegated={"AFFILIATIONS": "act", "BILLING": "consult"})
    late = factories.transmitted_request()
    _sent_hours_ago(on_time, 41.5)
    _sent_hours_ago(late, 73.2)

    rows = _rows(agent_client.get(QUEUE))

    reference, employer, filer, _sent, waited, domains = rows[_ref(on_time)]
    assert waited == "41 h of 72"  # no overdue mark
    assert domains == "2"
    assert filer == "Anna Filer"
    assert on_time.employer is not None
    assert employer == f"{on_time.employer.employer_number} {on_time.employer.name}"
    late_waited = rows[_ref(late)][4]
    assert late_waited.startswith("73 h of 72")
    assert "Overdue" in late_waited  # in words, not only in colour
    assert rows[_ref(late)][5] == "0"


def test_the_wait_turns_overdue_just_past_the_promise(agent_client: Client) -> None:
    request = factories.transmitted_request()
    _sent_hours_ago(request, 71.9)
    assert "Overdue" not in _text(agent_client.get(QUEUE))
    _sent_hours_ago(request, 72.1)
    assert "72 h of 72 ⚠ Overdue" in _text(agent_client.get(QUEUE))


# --- one request ---------------------------------------------------------------------------


def test_the_request_page_shows_every_answer_and_the_signature(agent_client: Client) -> None:
    request = factories.transmitted_request(delegated={"AFFILIATIONS": "act", "BILLING": "consult"})
    delegation = request.delegations.select_related("representative").first()
    assert delegation is not None and delegation.representative is not None
    assert request.employer is not None

    response = agent_client.get(reverse("backoffice:request", args=[request.pk]))

    text = _text(response)
    for expected in (
        _ref(request),
        request.employer.employer_number,
        request.employer.name,
        "Anna Filer",
        "filer@example.test",
        "+352 247 86 000",
        delegation.representative.denomination,
        delegation.representative.registration_number,
        str(Level.ACT.label),
        str(Level.CONSULT.label),
        request.signed_pdf_sha256,
        request.get_signature_method_display(),
    ):
        assert expected in text, expected
    assert len(request.signed_pdf_sha256) == 64
    pdf = agent_client.get(reverse("backoffice:request-pdf", args=[request.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content == bytes(request.signed_pdf or b"")
    assert pdf.content.startswith(b"%PDF")


def test_issuing_through_the_page_creates_the_codes_and_lists_the_letters(
    agent_client: Client, agent: object
) -> None:
    request = factories.transmitted_request(delegated={"BILLING": "consult"})
    url = reverse("backoffice:request", args=[request.pk])

    response = agent_client.post(reverse("backoffice:request-issue", args=[request.pk]))

    assert response.status_code == 302 and response["Location"] == url
    request.refresh_from_db()
    assert request.status == RequestStatus.ISSUED
    assert request.issued_by == agent
    assert AccessCode.objects.filter(request=request).count() == 4 * 2 + 1
    page = agent_client.get(url)
    text = _text(page)
    assert "are issued" in text  # the confirmation message
    letters = list(Letter.objects.filter(request=request))
    assert {letter.kind for letter in letters} == {
        LetterKind.HOLDER_CODES,
        LetterKind.REPRESENTATIVE_CODES,
    }
    for letter in letters:
        assert f"L-{letter.pk:07d}" in text
    assert str(LetterKind.REPRESENTATIVE_CODES.label) in text
    assert str(LetterStatus.QUEUED.label) in text
    assert "Re-print (lost letter)" in text
    assert "Issue the codes" not in text  # no second decision


def test_issuing_twice_is_refused_with_a_message(agent_client: Client) -> None:
    request = factories.issued_request()
    letters = Letter.objects.count()

    response = agent_client.post(
        reverse("backoffice:request-issue", args=[request.pk]), follow=True
    )

    assert "Only a transmitted request can be issued." in _text(response)
    assert Letter.objects.count() == letters


def test_rejecting_without_a_reason_shows_the_error_next_to_the_field(
    agent_client: Client,
) -> None:
    request = factories.transmitted_request()

    response = agent_client.post(
        reverse("backoffice:request-reject", args=[request.pk]), {"reason": "   "}
    )

    assert response.status_code == 400
    body = response.content.decode()
    field = body.split('id="id_reason"', 1)[0].rsplit('<div class="field', 1)[1]
    assert 'id="reason-error"' in field
    assert "Give the reason for the rejection" in field
    assert 'aria-describedby="reason-hint reason-error"' in body
    assert 'aria-invalid="true"' in body
    assert '<a href="#id_reason">' in body  # the error summary links to the field
    request.refresh_from_db()
    assert request.status == RequestStatus.TRANSMITTED


def test_rejecting_with_a_reason(agent_client: Client, agent: object) -> None:
    request = factories.transmitted_request()

    response = agent_client.post(
        reverse("backoffice:request-reject", args=[request.pk]),
        {"reason": "The employer number belongs to another company."},
        follow=True,
    )

    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    assert request.rejected_by == agent
    assert request.rejection_reason == "The employer number belongs to another company."
    text = _text(response)
    assert "is rejected" in text
    assert "The employer number belongs to another company." in text
    assert "Reject the request" not in text


def test_a_reprint_asks_for_confirmation_first(agent_client: Client) -> None:
    request = factories.issued_request()
    letter = Letter.objects.get(request=request, kind=LetterKind.HOLDER_CODES)
    url = reverse("backoffice:letter-reprint", args=[letter.pk])

    confirm = agent_client.get(url)

    assert confirm.status_code == 200
    assert "The codes in the old letter will stop working." in _text(confirm)
    assert f'action="{url}"' in confirm.content.decode()
    assert not AccessCode.objects.filter(letter=letter, invalidated_at__isnull=False).exists()
    assert not Letter.objects.filter(replaces=letter).exists()

    done = agent_client.post(url)

    assert done.status_code == 302
    assert done["Location"] == reverse("backoffice:request", args=[request.pk])
    replacement = Letter.objects.get(replaces=letter)
    assert not AccessCode.objects.filter(letter=letter, invalidated_at__isnull=True).exists()
    assert AccessCode.objects.filter(letter=replacement).count() == 8
    page = _text(agent_client.get(done["Location"]))
    assert f"replaces L-{letter.pk:07d}" in page
    # The replaced letter offers no second re-print.
    again = agent_client.get(url)
    assert "cannot be re-printed" in _text(again)
    assert f'action="{url}"' not in again.content.decode()


def test_the_pages_read_in_german(agent: object) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(agent)  # type: ignore[arg-type]
    request = factories.transmitted_request()
    _sent_hours_ago(request, 80)
    text = _text(client.get(QUEUE))
    assert "80 Std. von 72" in text
    assert "Überfällig" in text
