from __future__ import annotations

import csv
import hashlib
import io

import pytest
from pypdf import PdfReader

from mandat.core.errors import ApplicationError
from mandat.documents import batch as print_batch
from mandat.documents import services as documents
from mandat.documents.models import DispatchBatch, Letter
from mandat.registry.services import Address
from tests import factories
from tests.documents import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch() -> DispatchBatch:
    """Three employers, posted in an order unlike their creation order; one has a representative."""
    salary = factories.representative("Salary S.A.")
    for name, postcode, city, delegated in [
        ("Zeta Bau S.A.", "9999", "Wiltz", False),
        ("Alpha Conseil S.à r.l.", "5000", "Strassen", True),
        ("Boulangerie Kirsch", "1000", "Luxembourg", False),
    ]:
        employer = builders.employer(name, address=Address(f"1, rue {name}", postcode, city))
        builders.issued_request(
            employer_=employer,
            delegations=[("AFFILIATIONS", salary, "act")] if delegated else [],
        )
    return documents.batch_create(by=factories.agent())


def _manifest(batch: DispatchBatch) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(print_batch.batch_manifest_csv(batch))))


def test_the_batch_pdf_holds_every_letter_in_address_order(batch: DispatchBatch) -> None:
    letters = documents.batch_letters(batch)
    assert len(letters) == 4
    assert [letter.postcode for letter in letters] == ["1000", "5000", "5000", "9999"]

    reader = PdfReader(io.BytesIO(print_batch.batch_pdf(batch)))

    assert len(reader.pages) == sum(letter.pages for letter in letters)
    page = 0
    for letter in letters:
        first = reader.pages[page].extract_text()
        assert letter.recipient in first
        assert f"L-{letter.postcode}" in first
        # The letter's pages are exactly its own PDF's pages.
        own = PdfReader(io.BytesIO(documents.letter_pdf(letter)))
        for offset, own_page in enumerate(own.pages):
            assert reader.pages[page + offset].extract_text() == own_page.extract_text()
        page += letter.pages


def test_the_manifest_describes_the_pdf_row_by_row(batch: DispatchBatch) -> None:
    letters = documents.batch_letters(batch)
    text = print_batch.batch_manifest_csv(batch)
    assert text.splitlines()[0].split(",") == print_batch.MANIFEST_HEADER
    rows = _manifest(batch)

    assert len(rows) == len(letters)
    first_page = 1
    for position, (row, letter) in enumerate(zip(rows, letters, strict=True), start=1):
        assert row["position"] == str(position)
        assert row["letter_id"] == str(letter.pk)
        assert row["kind"] == letter.kind
        assert row["employer_number"] == letter.employer.employer_number
        assert row["recipient"] == letter.recipient
        assert row["address_line1"] == letter.address_line1
        assert (row["postcode"], row["city"], row["country"]) == (
            letter.postcode,
            letter.city,
            "LU",
        )
        assert row["pages"] == str(letter.pages)
        assert row["first_page"] == str(first_page)
        assert row["sha256"] == hashlib.sha256(documents.letter_pdf(letter)).hexdigest()
        first_page += letter.pages
    kinds = [row["kind"] for row in rows if row["recipient"] == "Alpha Conseil S.à r.l."]
    assert sorted(kinds) == ["holder_codes", "representative_codes"]


def test_a_name_that_looks_like_a_formula_stays_text_in_the_manifest() -> None:
    employer = builders.employer("=HYPERLINK(1) S.A.")
    builders.issued_request(employer_=employer)
    batch = documents.batch_create(by=factories.agent())
    assert _manifest(batch)[0]["recipient"] == "'=HYPERLINK(1) S.A."


def test_a_posted_batch_can_no_longer_be_printed(batch: DispatchBatch) -> None:
    documents.batch_dispatch(by=factories.agent(), batch=batch)
    with pytest.raises(ApplicationError) as caught:
        print_batch.batch_pdf(batch)
    assert caught.value.code == "letter_erased"
    assert len(_manifest(batch)) == Letter.objects.filter(batch=batch).count() == 4
