"""Printing and posting: letters waiting, print batches, their files, marking them posted."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from mandat.documents.models import DispatchBatch, Letter, LetterStatus
from mandat.registry import services as registry
from tests import factories

pytestmark = pytest.mark.django_db

LETTERS = "/backoffice/letters/"


def _text(response: object) -> str:
    body = response.content.decode()  # type: ignore[attr-defined]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def _employer_in(postcode: str, city: str) -> object:
    org = factories.organisation()
    return registry.employer_register(
        by=factories.agent(),
        organisation=org,
        institution=factories.ccss(),
        employer_number=org.identifier,
        name=f"Employer in {city}",
        address=registry.Address("1, rue Haute", postcode, city),
    )


def test_the_letters_waiting_are_listed_in_address_order(agent_client: Client) -> None:
    north = factories.issued_request(_employer_in("9710", "Clervaux"))  # type: ignore[arg-type]
    south = factories.issued_request(_employer_in("4001", "Esch"), delegated={"BILLING": "act"})  # type: ignore[arg-type]

    response = agent_client.get(LETTERS)

    text = _text(response)
    assert "3 letters are waiting for printing." in text
    body = response.content.decode()
    order = [int(n) for n in re.findall(r"L-(\d{7})</th>", body)]
    south_letters = sorted(Letter.objects.filter(request=south).values_list("pk", flat=True))
    north_letters = list(Letter.objects.filter(request=north).values_list("pk", flat=True))
    assert order == south_letters + north_letters
    assert 'action="/backoffice/letters/batches/"' in body


def test_creating_a_batch_then_downloading_its_pdf_and_manifest(agent_client: Client) -> None:
    from pypdf import PdfReader

    factories.issued_request(delegated={"AFFILIATIONS": "act"})
    factories.issued_request()
    letters = list(Letter.objects.filter(status=LetterStatus.QUEUED))
    assert len(letters) == 3

    response = agent_client.post(reverse("backoffice:batch-create"), follow=True)

    batch = DispatchBatch.objects.get()
    assert batch.letter_count == 3
    text = _text(response)
    assert "0 letters are waiting for printing." in text
    assert f"#{batch.pk} 3" in text
    assert "Not posted yet" in text

    pdf = agent_client.get(reverse("backoffice:batch-pdf", args=[batch.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Cache-Control"] == "no-store"
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == sum(letter.pages for letter in letters)

    manifest = agent_client.get(reverse("backoffice:batch-manifest", args=[batch.pk]))
    assert manifest.status_code == 200
    assert manifest["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(manifest.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + len(letters)  # a header, then one row per letter
    assert sorted(int(row[1]) for row in rows[1:]) == sorted(letter.pk for letter in letters)


def test_creating_a_batch_with_nothing_waiting_says_so(agent_client: Client) -> None:
    response = agent_client.post(reverse("backoffice:batch-create"), follow=True)
    assert "No letter is waiting for printing." in _text(response)
    assert not DispatchBatch.objects.exists()


def test_marking_a_batch_as_posted_asks_first_then_erases_the_pdfs(
    agent_client: Client, agent: object
) -> None:
    factories.issued_request()
    agent_client.post(reverse("backoffice:batch-create"))
    batch = DispatchBatch.objects.get()
    url = reverse("backoffice:batch-dispatch", args=[batch.pk])

    confirm = agent_client.get(url)

    assert confirm.status_code == 200
    assert "erased for good" in _text(confirm)
    assert f'action="{url}"' in confirm.content.decode()
    assert DispatchBatch.objects.get(pk=batch.pk).dispatched_at is None

    done = agent_client.post(url, follow=True)

    batch.refresh_from_db()
    assert batch.dispatched_at is not None
    assert batch.dispatched_by == agent
    letters = list(batch.letters.all())
    assert letters and all(letter.pdf_encrypted is None for letter in letters)
    assert all(letter.status == LetterStatus.DISPATCHED for letter in letters)
    assert "is marked as posted" in _text(done)
    assert "Not posted yet" not in _text(done)
    gone = agent_client.get(reverse("backoffice:batch-pdf", args=[batch.pk]))
    assert gone.status_code == 410
    again = agent_client.post(url, follow=True)
    assert "already been posted" in _text(again)


def test_a_letter_reprinted_before_posting_leaves_its_batch_printable(
    agent_client: Client,
) -> None:
    from pypdf import PdfReader

    request = factories.issued_request(delegated={"BILLING": "act"})
    agent_client.post(reverse("backoffice:batch-create"))
    batch = DispatchBatch.objects.get()
    lost, kept = Letter.objects.filter(request=request).order_by("kind")

    agent_client.post(reverse("backoffice:letter-reprint", args=[lost.pk]))

    pdf = agent_client.get(reverse("backoffice:batch-pdf", args=[batch.pk]))
    assert pdf.status_code == 200
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == kept.pages
    manifest = agent_client.get(reverse("backoffice:batch-manifest", args=[batch.pk]))
    rows = list(csv.reader(io.StringIO(manifest.content.decode("utf-8-sig"))))
    assert [int(row[1]) for row in rows[1:]] == [kept.pk]
    # The replacement waits for the next batch.
    assert "1 letter is waiting for printing." in _text(agent_client.get(LETTERS))
