"""What the print shop receives for a batch: one PDF of every letter, and a CSV manifest.

Both list the letters in the batch's address order (``documents.services.batch_letters``),
so the manifest's row *n* describes the *n*-th letter of the PDF, and its page
range can be checked against the printed stack.
"""

from __future__ import annotations

import csv
import io

from mandat.documents.models import DispatchBatch
from mandat.documents.services import batch_letters, letter_pdf
from mandat.registry.models import Employer

#: A cell starting with one of these would run as a formula in a spreadsheet (CWE-1236).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MANIFEST_HEADER = [
    "position",
    "letter_id",
    "kind",
    "employer_number",
    "recipient",
    "address_line1",
    "address_line2",
    "postcode",
    "city",
    "country",
    "pages",
    "first_page",
    "sha256",
]


def batch_pdf(batch: DispatchBatch) -> bytes:
    """Every letter of the batch, decrypted and merged into one PDF, in address order.

    Raises ``ApplicationError(letter_erased)`` once the batch has been posted.
    """
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for letter in batch_letters(batch):
        writer.append(PdfReader(io.BytesIO(letter_pdf(letter))))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def batch_manifest_csv(batch: DispatchBatch) -> str:
    """One row per letter, in the order of ``batch_pdf``; ``first_page`` is 1-based."""
    letters = batch_letters(batch)
    numbers = dict(
        Employer.objects.filter(pk__in={letter.employer_id for letter in letters}).values_list(
            "pk", "employer_number"
        )
    )
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(MANIFEST_HEADER)
    first_page = 1
    for position, letter in enumerate(letters, start=1):
        writer.writerow(
            [
                position,
                letter.pk,
                letter.kind,
                numbers[letter.employer_id],
                *map(
                    _cell,
                    [
                        letter.recipient,
                        letter.address_line1,
                        letter.address_line2,
                        letter.postcode,
                        letter.city,
                        letter.country,
                    ],
                ),
                letter.pages,
                first_page,
                letter.pdf_sha256,
            ]
        )
        first_page += letter.pages
    return output.getvalue()


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_START) else text
