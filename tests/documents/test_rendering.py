from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.utils import translation
from fontTools.ttLib import TTFont
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from mandat.catalog.models import Domain
from mandat.certification.models import AccessCode, CodeKind
from mandat.core import codes
from mandat.documents import rendering
from mandat.documents.content import CodeLetter, CodeLine, Recipient
from mandat.documents.models import LetterKind
from mandat.documents.services import letter_pdf
from tests import factories
from tests.documents import builders

pytestmark = pytest.mark.django_db

ISSUED = dt.datetime(2026, 3, 12, 8, 15, tzinfo=dt.UTC)
DEADLINE = dt.datetime(2026, 4, 11, 9, 30, tzinfo=dt.UTC)  # 11:30 in Luxembourg (CEST)
RECIPIENT = Recipient(
    name="Garage Muller S.à r.l.",
    address_line1="12, rue de la Gare",
    address_line2="Bâtiment B",
    postcode="1234",
    city="Luxembourg",
    country="LU",
)
RECIPIENT_LINES = [
    "Garage Muller S.à r.l.",
    "12, rue de la Gare",
    "Bâtiment B",
    "L-1234 Luxembourg",
]
REPRESENTATIVE = "Salary S.A. (2020220124699)"

# What each language must say, written here by hand rather than taken from the catalogues.
EXPECTED = {
    "fr": {
        "deadline": "11 avril 2026 à 11:30",
        "date": "12 mars 2026",
        "subject_1": "Vos codes d'accès pour certifier votre espace",
        "subject_2": "Codes d'accès pour votre mandataire",
        "not_activated": "NON ACTIVÉ",
        "act": "Action (lecture et modification)",
        "consult": "Consultation (lecture seule)",
        "path": "Profil → Certifications",
        "replaces": "Cette lettre remplace la lettre L-0000007",
    },
    "de": {
        "deadline": "11. April 2026, 11:30 Uhr",
        "date": "12. März 2026",
        "subject_1": "Ihre Zugangscodes zur Zertifizierung",
        "subject_2": "Zugangscodes für Ihren Bevollmächtigten",
        "not_activated": "NICHT AKTIVIERT",
        "act": "Handeln (lesen und ändern)",
        "consult": "Einsicht (nur lesen)",
        "path": "Profil → Zertifizierungen",
        "replaces": "Dieses Schreiben ersetzt das Schreiben L-0000007",
    },
    "en": {
        "deadline": "11 April 2026 at 11:30",
        "date": "12 March 2026",
        "subject_1": "Your access codes to certify your professional",
        "subject_2": "Access codes for your authorised representative",
        "not_activated": "NOT ACTIVATED",
        "act": "Action (read and change)",
        "consult": "Consultation (read only)",
        "path": "Profile → Certifications",
        "replaces": "This letter replaces letter L-0000007",
    },
}


def _domains() -> list[Domain]:
    return list(Domain.objects.filter(institution__code="CCSS").order_by("position"))


def _code() -> str:
    return codes.display(codes.generate())


def holder_letter(language: str, **extra: object) -> CodeLetter:
    lines = tuple(
        CodeLine(domain=d, access_code=_code(), revocation_code=_code()) for d in _domains()
    )
    return CodeLetter(
        kind=LetterKind.HOLDER_CODES,
        language=language,
        reference="CR-0000042",
        employer_name=RECIPIENT.name,
        employer_number="20201234567",
        recipient=RECIPIENT,
        issued_at=ISSUED,
        activation_deadline=DEADLINE,
        lines=lines,
        **extra,  # type: ignore[arg-type]
    )


def representative_letter(language: str) -> CodeLetter:
    affiliations, billing = _domains()[1], _domains()[3]
    lines = (
        CodeLine(
            domain=affiliations, access_code=_code(), representative=REPRESENTATIVE, level="act"
        ),
        CodeLine(
            domain=billing, access_code=_code(), representative=REPRESENTATIVE, level="consult"
        ),
    )
    return CodeLetter(
        kind=LetterKind.REPRESENTATIVE_CODES,
        language=language,
        reference="CR-0000042",
        employer_name=RECIPIENT.name,
        employer_number="20201234567",
        recipient=RECIPIENT,
        issued_at=ISSUED,
        activation_deadline=DEADLINE,
        lines=lines,
    )


def text_of(rendered: rendering.RenderedPdf) -> str:
    return builders.one_line(builders.pdf_text(rendered.data))


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_letter_one_gives_every_domain_its_codes_in_the_employers_language(language: str) -> None:
    content = holder_letter(language)
    rendered = rendering.render_code_letter(content)
    text = text_of(rendered)
    expected = EXPECTED[language]

    assert rendered.pages == len(PdfReader(BytesIO(rendered.data)).pages) >= 1
    assert expected["subject_1"] in text
    for line in content.lines:
        assert getattr(line.domain, f"name_{language}") in text
        assert line.access_code in text
        assert line.revocation_code in text
    assert expected["deadline"] in text
    assert expected["date"] in text
    assert expected["path"] in text
    assert "CR-0000042" in text and "20201234567" in text
    for address_line in RECIPIENT_LINES:
        assert address_line in text
    if language != "en":
        assert "Holder access code" not in text and "Revocation code" not in text


def test_letter_one_puts_each_code_next_to_its_own_domain() -> None:
    content = holder_letter("en")
    text = text_of(rendering.render_code_letter(content))
    positions = [text.index(line.domain.name_en) for line in content.lines]
    assert positions == sorted(positions)
    for line in content.lines:
        start = text.index(line.domain.name_en)
        assert start < text.index(line.access_code) < text.index(line.revocation_code)


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_letter_two_names_the_representative_and_marks_codes_not_activated(language: str) -> None:
    content = representative_letter(language)
    text = text_of(rendering.render_code_letter(content))
    expected = EXPECTED[language]

    assert expected["subject_2"] in text
    assert text.count(REPRESENTATIVE) == 2
    assert text.count(expected["not_activated"]) == 2
    assert expected["act"] in text and expected["consult"] in text
    assert text.index(expected["act"]) < text.index(expected["consult"])
    for line in content.lines:
        assert getattr(line.domain, f"name_{language}") in text
        assert line.access_code in text
    assert expected["deadline"] in text
    for address_line in RECIPIENT_LINES:
        assert address_line in text
    # Domains that are not delegated are not in letter 2.
    assert _domains()[0].name_en not in text_of(
        rendering.render_code_letter(representative_letter("en"))
    )


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_a_replacement_letter_says_which_letter_it_replaces(language: str) -> None:
    text = text_of(
        rendering.render_code_letter(holder_letter(language, replaces_reference="L-0000007"))
    )
    assert EXPECTED[language]["replaces"] in text
    plain = text_of(rendering.render_code_letter(holder_letter(language)))
    assert "L-0000007" not in plain


def _text_positions_mm(pdf: bytes, page_number: int = 0) -> list[tuple[str, float, float]]:
    """Each text run of a page with its origin in mm: from the left edge, from the top edge."""
    page = PdfReader(BytesIO(pdf)).pages[page_number]
    height = float(page.mediabox.height)
    runs: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if not text.strip():
            return
        x, y = tm[4], tm[5]
        page_x = cm[0] * x + cm[2] * y + cm[4]
        page_y = cm[1] * x + cm[3] * y + cm[5]
        runs.append((text.strip(), page_x * 25.4 / 72, (height - page_y) * 25.4 / 72))

    page.extract_text(visitor_text=visit)
    return runs


@pytest.mark.parametrize("make", [holder_letter, representative_letter])
def test_the_address_sits_in_the_window_of_a_dl_envelope(make: object) -> None:
    """DIN 5008 form B: address field 20 mm from the left, 45 mm from the top, 85 x 45 mm."""
    pdf = rendering.render_code_letter(make("de")).data  # type: ignore[operator]
    runs = _text_positions_mm(pdf)
    for address_line in RECIPIENT_LINES:
        found = [(x, top) for text, x, top in runs if text == address_line]
        assert found, f"{address_line!r} not found as one text run"
        x, top = found[0]
        # Baselines: the whole line, with its ascent, must be in the field (1 mm tolerance).
        assert 20 - 1 <= x <= 105 - 60, (address_line, x)
        assert 45 + 3 <= top <= 90 + 1, (address_line, top)
    # The subject line is below the window, so it never shows through it.
    subject = [top for text, _x, top in runs if "Zugangscodes" in text]
    assert subject and subject[0] > 90


def test_the_page_is_a4_and_fonts_are_embedded() -> None:
    reader = PdfReader(BytesIO(rendering.render_code_letter(holder_letter("fr")).data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)
    families = set()
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        program = TTFont(BytesIO(descriptor["/FontFile2"].get_object().get_data()))
        families.add(program["name"].getDebugName(1))
    assert families == {"DejaVu Sans", "DejaVu Sans Mono"}


def test_rendering_the_same_letter_twice_gives_the_same_text() -> None:
    content = holder_letter("fr")
    assert text_of(rendering.render_code_letter(content)) == text_of(
        rendering.render_code_letter(content)
    )


def test_a_foreign_address_ends_with_its_country() -> None:
    recipient = Recipient("Bakkerij Peeters", "Kerkstraat 4", "", "2000", "Antwerpen", "BE")
    assert rendering.address_lines(recipient) == [
        "Bakkerij Peeters",
        "Kerkstraat 4",
        "2000 Antwerpen",
        "BELGIQUE",
    ]
    assert rendering.address_lines(RECIPIENT)[-1] == "L-1234 Luxembourg"


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(
        alphabet=st.characters(
            # Control and format characters (such as a soft hyphen) never reach a
            # letter: the registry drops them from names.
            min_codepoint=0x20,
            max_codepoint=0xFF,
            blacklist_categories=("Cc", "Cf", "Zs"),
        ),
        min_size=1,
        max_size=28,
    )
    .map(lambda s: s.strip())
    .filter(bool)
)
def test_any_employer_name_is_printed_as_typed(name: str) -> None:
    """Markup characters in a registered name are text, never markup."""
    content = holder_letter("fr")
    content = CodeLetter(
        **{
            **content.__dict__,
            "recipient": Recipient(name, "1, rue X", "", "1234", "Luxembourg", "LU"),
        }
    )
    text = builders.pdf_text(rendering.render_code_letter(content).data)
    assert name in text


def test_issued_letters_carry_the_codes_the_database_knows_by_their_digest() -> None:
    salary = factories.representative("Salary S.A.")
    filed = builders.issued_request(
        employer_=builders.employer(language="de"),
        delegations=[("AFFILIATIONS", salary, "act"), ("BILLING", salary, "consult")],
    )
    letters = {letter.kind: letter for letter in filed.request.letters.all()}
    assert set(letters) == {LetterKind.HOLDER_CODES, LetterKind.REPRESENTATIVE_CODES}

    for kind, letter in letters.items():
        pdf = letter_pdf(letter)
        assert letter.pages == len(PdfReader(BytesIO(pdf)).pages)
        text = builders.one_line(builders.pdf_text(pdf))
        printed = builders.CODE.findall(text)
        stored = AccessCode.objects.filter(letter=letter)
        assert len(printed) == stored.count() > 0
        for display in printed:
            code = stored.get(digest=codes.digest(codes.normalize(display)))
            with translation.override("de"):
                assert code.domain.name in text
            if kind == LetterKind.REPRESENTATIVE_CODES:
                assert code.kind == CodeKind.REPRESENTATIVE
        assert "Garage Muller S.à r.l." in text
    holder_kinds = sorted(
        AccessCode.objects.filter(letter=letters["holder_codes"]).values_list("kind", flat=True)
    )
    assert holder_kinds == sorted([CodeKind.HOLDER, CodeKind.REVOCATION] * 4)
    assert f"Salary S.A. ({salary.registration_number})" in builders.pdf_text(
        letter_pdf(letters["representative_codes"])
    )


def test_the_request_summary_lists_employer_filer_and_delegations() -> None:
    salary = factories.representative("Salary S.A.")
    filed = builders.filed_request(
        delegations=[("AFFILIATIONS", salary, "act"), ("BILLING", salary, "consult")],
        sign=False,
    )
    with translation.override("de"):
        text = builders.one_line(builders.pdf_text(rendering.render_request_summary(filed.request)))

    assert filed.employer.employer_number in text
    assert "Garage Muller S.à r.l." in text
    assert "Anne Schmit" in text and "anne@garage.example" in text
    for domain in _domains():
        assert domain.name_de in text
    assert text.count(f"Salary S.A. ({salary.registration_number})") == 2
    assert EXPECTED["de"]["act"] in text and EXPECTED["de"]["consult"] in text
    assert text.index(_domains()[1].name_de) < text.index(EXPECTED["de"]["act"])
    assert builders.SECURITY_CODE not in text
    assert filed.request.security_code_hash not in text


def test_the_signed_request_never_contains_the_security_code() -> None:
    filed = builders.filed_request()
    signed = bytes(filed.request.signed_pdf or b"")
    assert signed.startswith(b"%PDF")
    assert builders.SECURITY_CODE.encode() not in signed
    assert builders.SECURITY_CODE not in builders.pdf_text(signed)
    assert filed.employer.employer_number in builders.pdf_text(signed)
