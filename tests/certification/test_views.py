"""The certification pages, driven through HTTP as a person would.

Procedure B (the request wizard), procedure C (codes), public revocation, the
domain page with its eDelivery switch, and the space's notices and e-Box.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db.models import Max
from django.template.defaultfilters import date as date_filter
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.certification import services as certification
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind, RequestStatus
from mandat.core import codes, secrets
from mandat.documents import services as documents
from mandat.documents.content import CodeLetter, CodeLine, Recipient
from mandat.documents.models import Delivery, EDelivery, Letter, LetterKind, Notice, NoticeKind
from mandat.mandates.models import Mandate, MandateKind, MandateStatus
from mandat.registry.models import Employer, Representative
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Space
from tests import factories

pytestmark = pytest.mark.django_db

SEED_DOMAINS = ["EMPLOYER", "AFFILIATIONS", "REMUNERATIONS"]
SECURITY_CODE = "Secret-123"


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    """Signing makes a development seal in DATA_DIR: keep it out of the checkout."""
    settings.DATA_DIR = tmp_path


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _client(user: User) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


@pytest.fixture
def boss() -> User:
    return factories.user("boss", first_name="Émile", last_name="Boulanger")


@pytest.fixture
def employer() -> Employer:
    return factories.employer("Boulangerie Demo S.à r.l.")


@pytest.fixture
def space(boss: User, employer: Employer) -> Space:
    return factories.space_of(employer.organisation, admin=boss)


@pytest.fixture
def salary() -> Representative:
    return factories.salary_sa()


@pytest.fixture
def web(boss: User, space: Space) -> Client:
    return _client(boss)


def _step(name: str, space: Space, *args: object) -> str:
    return reverse(f"certification:{name}", args=[space.pk, *args])


def _text(response: object) -> str:
    content = getattr(response, "content", b"")
    assert isinstance(content, bytes)
    return html.unescape(content.decode())


def _page(response: object) -> str:
    content = getattr(response, "content", b"")
    assert isinstance(content, bytes)
    return content.decode()


def _redirects_to(response: object, url: str) -> None:
    assert getattr(response, "status_code", None) == 302, _text(response)[:3000]
    assert getattr(response, "headers", {})["Location"] == url


def _assert_field_error(response: object, field: str, message: str) -> None:
    """The error is in the summary, linked to its field, and next to the field itself."""
    page = _page(response)
    assert getattr(response, "status_code", None) == 200
    escaped = html.escape(message)
    assert 'class="error-summary"' in page
    assert f'<a href="#{field}">{escaped}' in page, f"no summary link to #{field}: {message}"
    next_to_field = re.search(
        rf'<p class="error-message" id="{field}-error">.*?{re.escape(escaped)}', page, re.S
    )
    assert next_to_field, f"no error next to {field}"
    described = re.search(rf'aria-describedby="[^"]*\b{field}-error\b', page)
    assert described, f"{field} is not described by its error"
    assert f'id="{field}"' in page, f"the summary links to a missing #{field}"
    assert "<title>Error:" in page


def _value(response: object, name: str) -> str | None:
    found = re.search(rf'<input id="{name}" name="{name}"[^>]*value="([^"]*)"', _page(response))
    return html.unescape(found.group(1)) if found else None


def _checked(response: object, name: str) -> list[str]:
    return re.findall(
        rf'name="{name}" type="(?:radio|checkbox)" value="([^"]+)" checked', _page(response)
    )


def _back_link(response: object) -> str:
    found = re.search(r'<a class="back-link" href="([^"]+)"', _page(response))
    assert found, "the page has no back link"
    return html.unescape(found.group(1))


def _draft(space: Space) -> CertificationRequest:
    return CertificationRequest.objects.get(space=space)


# Walking the wizard


def _start(web: Client, space: Space) -> None:
    _redirects_to(web.post(_step("request", space)), _step("request_consent", space))


def _through_employer(web: Client, space: Space, employer: Employer) -> None:
    _start(web, space)
    _redirects_to(
        web.post(_step("request_consent", space), {"consent": "on"}), _step("request_filer", space)
    )
    _redirects_to(
        web.post(
            _step("request_filer", space),
            {
                "name": "Émile Boulanger",
                "email": "emile@boulangerie.example",
                "phone": "+352 621 000 111",
            },
        ),
        _step("request_employer", space),
    )
    _redirects_to(
        web.post(
            _step("request_employer", space),
            {
                "employer_number": employer.employer_number,
                "employer_name": employer.name,
            },
        ),
        _step("request_representative", space),
    )


def _seed_representatives(web: Client, space: Space) -> None:
    _redirects_to(
        web.post(_step("request_representative", space), {"has_representative": "yes"}),
        _step("request_same", space),
    )
    _redirects_to(
        web.post(_step("request_same", space), {"same_representative": "yes"}),
        _step("request_domains", space),
    )
    _redirects_to(
        web.post(_step("request_domains", space), {"domains": SEED_DOMAINS}),
        _step("request_details_same", space),
    )
    _redirects_to(
        web.post(
            _step("request_details_same", space),
            {
                "registration_number": "2020220124699",
                "name": "Salary S.A.",
                "level": "consult",
            },
        ),
        _step("request_security_code", space),
    )


def _to_check(web: Client, space: Space, employer: Employer) -> None:
    _through_employer(web, space, employer)
    _seed_representatives(web, space)
    _redirects_to(
        web.post(
            _step("request_security_code", space),
            {"security_code": SECURITY_CODE, "confirmation": SECURITY_CODE},
        ),
        _step("request_check", space),
    )


def test_the_seed_case_walks_the_wizard_and_saves_every_answer(
    web: Client, space: Space, employer: Employer, salary: Representative
) -> None:
    start = web.get(_step("request", space))
    assert start.status_code == 200
    assert "Start now" in _text(start)
    assert not CertificationRequest.objects.filter(space=space).exists(), "a GET filed a request"

    _to_check(web, space, employer)

    draft = _draft(space)
    assert draft.status == RequestStatus.DRAFT
    assert draft.consent_at is not None
    assert (draft.filer_name, draft.filer_email, draft.filer_phone) == (
        "Émile Boulanger",
        "emile@boulangerie.example",
        "+352 621 000 111",
    )
    assert draft.employer_number_typed == employer.employer_number
    assert draft.has_representative is True and draft.same_representative is True
    delegations = [
        (d.domain.code, d.representative_id, d.level)
        for d in draft.delegations.select_related("domain").order_by("domain__position")
    ]
    assert delegations == [(code, salary.pk, "consult") for code in SEED_DOMAINS]
    assert secrets.verify_secret(draft.security_code_hash, SECURITY_CODE)
    assert certification.missing_steps(draft) == []

    check = _text(web.get(_step("request_check", space)))
    assert check.count("Salary S.A. (2020220124699)") == 3
    assert "Billing and accounting" not in check
    assert SECURITY_CODE not in check
    for step in (
        "request_filer",
        "request_employer",
        "request_representative",
        "request_same",
        "request_domains",
        "request_details_same",
        "request_security_code",
    ):
        assert f"{_step(step, space)}?return=check" in check, f"no Change link to {step}"


def test_a_representative_per_domain_is_asked_once_per_domain(
    web: Client, space: Space, employer: Employer, salary: Representative
) -> None:
    other = factories.representative("Fiduciaire Test S.A.")
    _through_employer(web, space, employer)
    web.post(_step("request_representative", space), {"has_representative": "yes"})
    web.post(_step("request_same", space), {"same_representative": "no"})
    _redirects_to(
        web.post(_step("request_domains", space), {"domains": ["BILLING", "EMPLOYER"]}),
        _step("request_details", space, "EMPLOYER"),
    )
    page = web.get(_step("request_details", space, "EMPLOYER"))
    assert "Your representative for Employer general data" in _text(page)
    _redirects_to(
        web.post(
            _step("request_details", space, "EMPLOYER"),
            {
                "registration_number": salary.registration_number,
                "name": "salary s.a.",
                "level": "act",
            },
        ),
        _step("request_details", space, "BILLING"),
    )
    assert _back_link(web.get(_step("request_details", space, "BILLING"))) == _step(
        "request_details", space, "EMPLOYER"
    )
    assert not _draft(space).delegations.exists(), "saved before the last domain was answered"
    _redirects_to(
        web.post(
            _step("request_details", space, "BILLING"),
            {
                "registration_number": other.registration_number,
                "name": other.denomination,
                "level": "consult",
            },
        ),
        _step("request_security_code", space),
    )
    saved = {
        d.domain.code: (d.representative_id, d.level)
        for d in _draft(space).delegations.select_related("domain")
    }
    assert saved == {"EMPLOYER": (salary.pk, "act"), "BILLING": (other.pk, "consult")}
    assert _draft(space).same_representative is False


def test_no_representative_is_saved_at_once_and_skips_the_representative_pages(
    web: Client, space: Space, employer: Employer
) -> None:
    _through_employer(web, space, employer)
    _redirects_to(
        web.post(_step("request_representative", space), {"has_representative": "no"}),
        _step("request_security_code", space),
    )
    draft = _draft(space)
    assert draft.has_representative is False
    assert certification.missing_steps(draft) == ["security_code"]
    assert _back_link(web.get(_step("request_security_code", space))) == _step(
        "request_representative", space
    )


def test_back_links_lead_to_the_previous_step_and_show_the_saved_answers(
    web: Client, space: Space, employer: Employer, salary: Representative
) -> None:
    _through_employer(web, space, employer)
    employer_page = web.get(_step("request_employer", space))
    assert _back_link(employer_page) == _step("request_filer", space)
    filer = web.get(_back_link(employer_page))
    assert _value(filer, "email") == "emile@boulangerie.example"
    assert _value(filer, "phone") == "+352 621 000 111"
    assert _back_link(filer) == _step("request_consent", space)
    assert 'id="consent" name="consent" type="checkbox" value="on" checked' in _page(
        web.get(_step("request_consent", space))
    )
    assert _value(web.get(_step("request_employer", space)), "employer_name") == employer.name

    # The representative answers, between pages (session) and once saved (draft).
    web.post(_step("request_representative", space), {"has_representative": "yes"})
    web.post(_step("request_same", space), {"same_representative": "yes"})
    web.post(_step("request_domains", space), {"domains": SEED_DOMAINS})
    details = web.get(_step("request_details_same", space))
    assert _back_link(details) == _step("request_domains", space)
    domains = web.get(_back_link(details))
    assert _checked(domains, "domains") == SEED_DOMAINS
    assert _checked(web.get(_back_link(domains)), "same_representative") == ["yes"]
    _seed_representatives(web, space)
    security = web.get(_step("request_security_code", space))
    assert _back_link(security) == _step("request_details_same", space)
    saved = web.get(_back_link(security))
    assert _value(saved, "registration_number") == "2020220124699"
    assert _value(saved, "name") == "Salary S.A."
    assert _checked(saved, "level") == ["consult"]
    # A fresh session still shows what the draft holds.
    again = _client(User.objects.get(username="boss"))
    assert _checked(again.get(_step("request_domains", space)), "domains") == SEED_DOMAINS
    assert _checked(again.get(_step("request_representative", space)), "has_representative") == [
        "yes"
    ]


def test_a_change_from_the_summary_returns_to_the_summary(
    web: Client, space: Space, employer: Employer, salary: Representative
) -> None:
    _to_check(web, space, employer)
    change = f"{_step('request_filer', space)}?return=check"
    assert _back_link(web.get(change)) == f"{_step('request_consent', space)}?return=check"
    _redirects_to(
        web.post(change, {"name": "Émile B.", "email": "e@b.example", "phone": "+352 1234567"}),
        _step("request_check", space),
    )
    assert _draft(space).filer_name == "Émile B."
    # Changing the domains walks the representative pages again, then back to the summary.
    domains = f"{_step('request_domains', space)}?return=check"
    _redirects_to(
        web.post(domains, {"domains": ["AFFILIATIONS"]}),
        f"{_step('request_details_same', space)}?return=check",
    )
    _redirects_to(
        web.post(
            f"{_step('request_details_same', space)}?return=check",
            {
                "registration_number": "2020220124699",
                "name": "Salary S.A.",
                "level": "act",
            },
        ),
        _step("request_check", space),
    )
    assert [
        (d.domain.code, d.level) for d in _draft(space).delegations.select_related("domain")
    ] == [("AFFILIATIONS", "act")]


def test_leaving_and_coming_back_resumes_at_the_first_missing_step(
    web: Client, boss: User, space: Space, employer: Employer, salary: Representative
) -> None:
    _start(web, space)
    web.post(_step("request_consent", space), {"consent": "on"})
    web.post(
        _step("request_filer", space),
        {"name": "Émile", "email": "e@b.example", "phone": "+352 621 000 111"},
    )
    later = _client(boss)
    _redirects_to(later.get(_step("request", space)), _step("request_employer", space))
    _redirects_to(later.post(_step("request", space)), _step("request_employer", space))
    assert CertificationRequest.objects.filter(space=space).count() == 1
    # A page further on sends nowhere new: the draft holds what it holds.
    _through_employer_rest = later.post(
        _step("request_employer", space),
        {
            "employer_number": employer.employer_number,
            "employer_name": employer.name,
        },
    )
    _redirects_to(_through_employer_rest, _step("request_representative", space))
    _seed_representatives(later, space)
    _redirects_to(_client(boss).get(_step("request", space)), _step("request_security_code", space))
    later.post(
        _step("request_security_code", space),
        {"security_code": SECURITY_CODE, "confirmation": SECURITY_CODE},
    )
    _redirects_to(_client(boss).get(_step("request", space)), _step("request_check", space))


def test_the_steps_need_a_started_request(web: Client, space: Space) -> None:
    _redirects_to(web.get(_step("request_filer", space)), _step("request", space))
    _redirects_to(web.post(_step("request_filer", space), {"name": "x"}), _step("request", space))
    assert not CertificationRequest.objects.exists()


# Errors, next to their field and in the summary


@pytest.fixture
def started(web: Client, space: Space, employer: Employer) -> Client:
    _through_employer(web, space, employer)
    return web


def test_consent_is_required(web: Client, space: Space) -> None:
    _start(web, space)
    response = web.post(_step("request_consent", space), {})
    _assert_field_error(
        response, "consent", "You must accept the data-protection notice to continue."
    )
    assert _draft(space).consent_at is None


def test_a_wrong_filer_email_is_shown_next_to_it_and_keeps_what_was_typed(
    web: Client, space: Space
) -> None:
    _start(web, space)
    web.post(_step("request_consent", space), {"consent": "on"})
    response = web.post(
        _step("request_filer", space),
        {"name": "Émile", "email": "emile-at-home", "phone": "+352 621 000 111"},
    )
    _assert_field_error(
        response, "email", "Enter an e-mail address in the right format, like name@example.lu."
    )
    assert _value(response, "email") == "emile-at-home"
    assert _value(response, "name") == "Émile"
    assert _value(response, "phone") == "+352 621 000 111"
    assert _draft(space).filer_email == ""


def test_an_employer_that_does_not_match_the_registry_is_refused(
    started: Client, space: Space, employer: Employer
) -> None:
    response = started.post(
        _step("request_employer", space),
        {"employer_number": employer.employer_number, "employer_name": "Boulangerie Autre S.A."},
    )
    _assert_field_error(
        response,
        "employer_number",
        "No employer matches this number and name. Check both and try again.",
    )
    assert _value(response, "employer_name") == "Boulangerie Autre S.A."


@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        (
            "request_representative",
            "has_representative",
            "Say whether you have an authorised representative.",
        ),
        (
            "request_same",
            "same_representative",
            "Say whether the representative is the same for each domain.",
        ),
        ("request_domains", "domains", "Choose at least one domain to delegate."),
    ],
)
def test_an_unanswered_question_says_what_to_do(
    started: Client, space: Space, step: str, field: str, message: str
) -> None:
    if step != "request_representative":
        started.post(_step("request_representative", space), {"has_representative": "yes"})
    if step == "request_domains":
        started.post(_step("request_same", space), {"same_representative": "yes"})
    _assert_field_error(started.post(_step(step, space), {}), field, message)


def test_a_representative_unknown_to_the_registry_is_refused_on_its_page(
    started: Client, space: Space, salary: Representative
) -> None:
    started.post(_step("request_representative", space), {"has_representative": "yes"})
    started.post(_step("request_same", space), {"same_representative": "yes"})
    started.post(_step("request_domains", space), {"domains": SEED_DOMAINS})
    response = started.post(
        _step("request_details_same", space),
        {
            "registration_number": "2020220124698",
            "name": "Salary S.A.",
            "level": "consult",
        },
    )
    _assert_field_error(
        response,
        "registration_number",
        "No representative matches this registration number and name. Check both and try again.",
    )
    assert _value(response, "registration_number") == "2020220124698"
    assert _checked(response, "level") == ["consult"]
    both = started.post(
        _step("request_details_same", space),
        {"registration_number": "2020220124698", "name": "Salary S.A."},
    )
    _assert_field_error(both, "level", "Choose consultation or action.")
    _assert_field_error(
        both,
        "registration_number",
        "No representative matches this registration number and name. Check both and try again.",
    )
    assert not _draft(space).delegations.exists()


def test_the_service_refusal_of_a_domain_shows_on_that_domains_page(
    started: Client, space: Space, employer: Employer
) -> None:
    """The employer itself is in the registry of representatives: the page check passes,
    the service refuses, and the error lands on the domain's own page."""
    from mandat.registry import services as registry

    registry.representative_register(
        by=factories.agent(),
        organisation=employer.organisation,
        registration_number="20191234567",
        denomination="Boulangerie Demo S.à r.l.",
        address=factories.ADDRESS,
    )
    started.post(_step("request_representative", space), {"has_representative": "yes"})
    started.post(_step("request_same", space), {"same_representative": "no"})
    started.post(_step("request_domains", space), {"domains": ["EMPLOYER"]})
    response = started.post(
        _step("request_details", space, "EMPLOYER"),
        {
            "registration_number": "20191234567",
            "name": "Boulangerie Demo S.à r.l.",
            "level": "act",
        },
    )
    _assert_field_error(
        response, "registration_number", "The employer cannot be its own representative."
    )
    assert f'action="{_step("request_details", space, "EMPLOYER")}"' in _page(response)
    assert _value(response, "name") == "Boulangerie Demo S.à r.l."


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        (
            ("short", "short"),
            "security_code",
            "The security code must have between 6 and 10 characters.",
        ),
        (("Secret-123", "Secret-124"), "confirmation", "The two security codes are not the same."),
    ],
)
def test_a_security_code_error_is_shown_next_to_its_field(
    web: Client, space: Space, typed: tuple[str, str], field: str, message: str
) -> None:
    _start(web, space)
    response = web.post(
        _step("request_security_code", space), {"security_code": typed[0], "confirmation": typed[1]}
    )
    _assert_field_error(response, field, message)
    assert typed[0] not in _page(response), "a security code was echoed back"
    assert "Between 6 and 10 characters." in _text(response)
    assert _draft(space).security_code_hash == ""


# Who may file


def test_a_representatives_space_is_refused_clearly(salary: Representative) -> None:
    admin = factories.user()
    firm_space = factories.space_of(salary.organisation, admin=admin)
    web = _client(admin)
    shown = web.get(reverse("certification:request", args=[firm_space.pk]))
    assert shown.status_code == 403
    assert "Only an employer's own professional space can file a certification request" in _text(
        shown
    )
    assert "Start now" not in _text(shown)
    posted = web.post(reverse("certification:request", args=[firm_space.pk]))
    assert posted.status_code == 403
    assert "A representative cannot file one for a client" in _text(posted)
    assert not CertificationRequest.objects.exists()
    tab = _page(web.get(reverse("certification:certifications", args=[firm_space.pk])))
    assert reverse("certification:certification_add", args=[firm_space.pk]) in tab
    assert reverse("certification:request", args=[firm_space.pk]) not in tab


def test_a_collaborator_cannot_start_a_request(boss: User, space: Space) -> None:
    colleague = factories.user()
    space_services.member_add(by=boss, space=space, user=colleague)
    response = _client(colleague).post(_step("request", space))
    assert response.status_code == 403
    assert "Only an administrator of the employer's space may file this request." in _text(response)
    assert not CertificationRequest.objects.exists()


def test_the_wizard_of_another_space_is_not_found(space: Space) -> None:
    stranger = _client(factories.user())
    missing = (Space.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    assert stranger.get(_step("request", space)).status_code == 404
    assert stranger.post(_step("request", space)).status_code == 404
    assert stranger.get(reverse("certification:request", args=[missing])).status_code == 404
    assert not CertificationRequest.objects.exists()


# Signing and transmitting (asked twice)


def test_signing_with_the_seal_then_transmitting_after_asking_twice(
    web: Client, space: Space, employer: Employer, salary: Representative
) -> None:
    _to_check(web, space, employer)
    sign_page = web.get(_step("request_sign", space))
    assert 'enctype="multipart/form-data"' in _page(sign_page)
    _redirects_to(web.post(_step("request_sign", space), {}), _step("request_transmit", space))
    draft = _draft(space)
    assert draft.status == RequestStatus.SIGNED
    assert draft.signature_method == "seal"
    # The start page and the draft steps now lead to the signed request.
    _redirects_to(web.get(_step("request", space)), _step("request_transmit", space))
    _redirects_to(web.get(_step("request_filer", space)), _step("request", space))

    transmit = web.get(_step("request_transmit", space))
    pdf_url = reverse("certification:request_signed_pdf", args=[space.pk, draft.pk])
    assert pdf_url in _page(transmit)
    pdf = web.get(pdf_url)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert _step("request_confirm", space) in _page(transmit)
    assert _draft(space).status == RequestStatus.SIGNED, "the first question sent it already"

    confirm = web.get(_step("request_confirm", space))
    assert "Are you sure?" in _text(confirm)
    assert "This sends the request to" in _text(confirm)
    unconfirmed = web.post(_step("request_confirm", space), {})
    _assert_field_error(unconfirmed, "confirm", "Confirm that you want to transmit the request.")
    assert _draft(space).status == RequestStatus.SIGNED

    _redirects_to(
        web.post(_step("request_confirm", space), {"confirm": "on"}), _step("request_sent", space)
    )
    draft = _draft(space)
    assert draft.status == RequestStatus.TRANSMITTED
    sent = _text(web.get(_step("request_sent", space)))
    assert "Request sent" in sent
    assert f"CR-{draft.pk:07d}" in sent
    _redirects_to(web.get(_step("request", space)), _step("request_sent", space))


def test_changing_a_signed_request_reopens_it(
    web: Client, space: Space, employer: Employer, salary: Representative
) -> None:
    _to_check(web, space, employer)
    web.post(_step("request_sign", space), {})
    assert web.get(_step("request_reopen", space)).status_code == 405
    _redirects_to(web.post(_step("request_reopen", space)), _step("request_check", space))
    draft = _draft(space)
    assert draft.status == RequestStatus.DRAFT
    assert draft.signed_pdf is None


def test_a_certificate_that_cannot_sign_is_refused_next_to_the_upload(
    web: Client, space: Space, employer: Employer, salary: Representative
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    _to_check(web, space, employer)
    response = web.post(
        _step("request_sign", space),
        {
            "certificate": SimpleUploadedFile(
                "me.p12", b"not a pkcs12 file", content_type="application/x-pkcs12"
            ),
            "passphrase": "wrong",
        },
    )
    assert response.status_code == 200
    page = _page(response)
    assert 'href="#certificate"' in page
    assert 'id="certificate-error"' in page
    assert "<details open>" in page
    assert _draft(space).status == RequestStatus.DRAFT


# Procedure C: certify a space with a posted code


def _clear_codes(request: CertificationRequest) -> dict[tuple[str, str], str]:
    """The clear codes of a request's letters, by (domain, kind), read from the PDFs the way
    the employer reads them; each is placed by its stored digest."""
    from pypdf import PdfReader

    symbol = f"[{codes.ALPHABET}]"
    found = {}
    for letter in Letter.objects.filter(request=request):
        pages = PdfReader(io.BytesIO(documents.letter_pdf(letter))).pages
        text = " ".join(page.extract_text() or "" for page in pages)
        for printed in re.findall(rf"\b{symbol}{{4}}(?:-{symbol}{{4}}){{3}}\b", text):
            code = AccessCode.objects.select_related("domain").get(
                digest=codes.digest(codes.normalize(printed))
            )
            found[(code.domain.code, code.kind)] = printed
    return found


def _employer_of(request: CertificationRequest) -> Employer:
    assert request.employer is not None
    return request.employer


@pytest.fixture
def issued() -> CertificationRequest:
    return factories.issued_request(delegated={"AFFILIATIONS": "consult"})


def _add_url(space: Space, domain: Domain, kind: str) -> str:
    return (
        f"{reverse('certification:certification_add_code', args=[space.pk])}"
        f"?domain={domain.pk}&kind={kind}"
    )


def test_the_holder_code_certifies_the_employers_space_through_the_pages(
    issued: CertificationRequest,
) -> None:
    space = issued.space
    web = _client(issued.created_by)
    tab = _text(web.get(reverse("certification:certifications", args=[space.pk])))
    assert tab.count("Not certified") == 4
    add = reverse("certification:certification_add", args=[space.pk])
    assert add in _page(web.get(reverse("certification:certifications", args=[space.pk])))
    domain = factories.domain("EMPLOYER")
    _assert_field_error(web.post(add, {}), "domain", "Choose the domain you want to certify.")
    kind_url = (
        f"{reverse('certification:certification_add_kind', args=[space.pk])}?domain={domain.pk}"
    )
    _redirects_to(web.post(add, {"domain": domain.pk}), kind_url)
    _assert_field_error(
        web.post(kind_url, {}), "kind", "Choose which kind of certification you add."
    )
    _redirects_to(web.post(kind_url, {"kind": "holder"}), _add_url(space, domain, "holder"))

    code = _clear_codes(issued)[("EMPLOYER", CodeKind.HOLDER)]
    response = web.post(
        _add_url(space, domain, "holder"),
        {"code": code.lower().replace("-", " "), "security_code": "s3cret-42"},
    )
    mandate = Mandate.objects.get(grantee_space=space, domain=domain)
    assert mandate.status == MandateStatus.ACTIVE and mandate.kind == MandateKind.PRIMARY
    _redirects_to(
        response, reverse("certification:certification_added", args=[space.pk, mandate.pk])
    )
    done = _text(web.get(response["Location"]))
    assert "Your space is now certified for Employer general data." in done
    tab = _text(web.get(reverse("certification:certifications", args=[space.pk])))
    assert tab.count("Not certified") == 3
    assert reverse("portal:domain", args=[space.pk, mandate.employer_id, "EMPLOYER"]) in tab


def test_a_typo_in_the_code_is_called_a_typo_and_does_not_count(
    issued: CertificationRequest,
) -> None:
    space, web = issued.space, _client(issued.created_by)
    domain = factories.domain("EMPLOYER")
    code = _clear_codes(issued)[("EMPLOYER", CodeKind.HOLDER)]
    typo = code[:-1] + ("2" if code[-1] != "2" else "3")
    response = web.post(
        _add_url(space, domain, "holder"), {"code": typo, "security_code": "s3cret-42"}
    )
    _assert_field_error(
        response,
        "code",
        "This code contains a typing error. Check each character and try again.",
    )
    assert "does not count as a wrong try" in _text(response)
    assert _value(response, "code") == typo
    stored = AccessCode.objects.get(digest=codes.digest(codes.normalize(code)))
    assert stored.failed_attempts == 0
    assert not Mandate.objects.filter(grantee_space=space).exists()


def test_a_wrong_security_code_and_a_wrong_domain_show_next_to_their_field(
    issued: CertificationRequest,
) -> None:
    space, web = issued.space, _client(issued.created_by)
    code = _clear_codes(issued)[("EMPLOYER", CodeKind.HOLDER)]
    wrong = web.post(
        _add_url(space, factories.domain("EMPLOYER"), "holder"),
        {"code": code, "security_code": "not-it"},
    )
    _assert_field_error(wrong, "code", "The access code or the security code is not right.")
    assert "does not count as a wrong try" not in _text(wrong)
    stored = AccessCode.objects.get(digest=codes.digest(codes.normalize(code)))
    assert stored.failed_attempts == 1
    other_domain = web.post(
        _add_url(space, factories.domain("BILLING"), "holder"),
        {"code": code, "security_code": "s3cret-42"},
    )
    page = _page(other_domain)
    message = "This code is for another domain. Choose the domain printed next to it."
    assert f'<a href="#domain">{html.escape(message)}' in page
    assert 'id="domain-error"' in page
    assert not Mandate.objects.filter(grantee_space=space).exists()


def test_the_representative_code_gives_the_firm_its_obtained_mandate(
    issued: CertificationRequest,
) -> None:
    firm = issued.delegations.get().representative
    assert firm is not None
    admin = factories.user()
    firm_space = factories.space_of(firm.organisation, admin=admin)
    web = _client(admin)
    domain = factories.domain("AFFILIATIONS")
    code = _clear_codes(issued)[("AFFILIATIONS", CodeKind.REPRESENTATIVE)]
    # A holder choice with a representative code says which letter to look at.
    mismatch = web.post(
        _add_url(firm_space, domain, "holder"), {"code": code, "security_code": "s3cret-42"}
    )
    _assert_field_error(
        mismatch,
        "code",
        "This is not a code of the kind you chose. Check which letter it comes from.",
    )
    response = web.post(
        _add_url(firm_space, domain, "representative"), {"code": code, "security_code": "s3cret-42"}
    )
    mandate = Mandate.objects.get(grantee_space=firm_space)
    assert (mandate.kind, mandate.level, mandate.employer_id) == (
        MandateKind.OBTAINED,
        "consult",
        issued.employer_id,
    )
    done = _text(web.get(response["Location"]))
    assert f"Your space now holds the mandate of {_employer_of(issued).name}" in done


def test_the_confirmation_of_another_spaces_certification_is_not_found(
    issued: CertificationRequest,
) -> None:
    space = issued.space
    mandate = factories.mandate(employer_=_employer_of(issued), space=space, domain_code="BILLING")
    stranger = factories.user()
    other = factories.space_of(factories.organisation(), admin=stranger)
    response = _client(stranger).get(
        reverse("certification:certification_added", args=[other.pk, mandate.pk])
    )
    assert response.status_code == 404


# Public revocation


def _certified_with_revocation_code(issued: CertificationRequest) -> str:
    found = _clear_codes(issued)
    from mandat.certification.redemption import code_redeem

    code_redeem(
        by=issued.created_by,
        space=issued.space,
        domain=factories.domain("EMPLOYER"),
        kind=CodeKind.HOLDER,
        code=found[("EMPLOYER", CodeKind.HOLDER)],
        security_code="s3cret-42",
    )
    return found[("EMPLOYER", CodeKind.REVOCATION)]


def test_a_revocation_code_ends_the_certification_without_logging_in(
    client: Client,
    issued: CertificationRequest,
) -> None:
    revocation = _certified_with_revocation_code(issued)
    client.cookies["django_language"] = "en"
    url = reverse("certification:revoke")
    assert client.get(url).status_code == 200
    preview = client.post(url, {"code": revocation})
    assert preview.status_code == 200
    question = f"Revoke the certification of {_employer_of(issued).name} for Employer general data?"
    assert question in _text(preview)
    mandate = Mandate.objects.get(grantee_space=issued.space, kind=MandateKind.PRIMARY)
    assert mandate.status == MandateStatus.ACTIVE, "the preview revoked already"
    done = client.post(reverse("certification:revoke_confirm"), {"code": revocation})
    _redirects_to(done, reverse("certification:revoke_done"))
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.REVOKED
    assert "is no longer certified for Employer general data" in _text(client.get(done["Location"]))
    used = client.post(url, {"code": revocation})
    _assert_field_error(used, "code", "This revocation code has already been used.")


def test_revocation_typos_and_wrong_codes_get_clear_errors(
    client: Client,
    issued: CertificationRequest,
) -> None:
    revocation = _certified_with_revocation_code(issued)
    client.cookies["django_language"] = "en"
    url = reverse("certification:revoke")
    typo = client.post(url, {"code": revocation[:-1] + ("2" if revocation[-1] != "2" else "3")})
    _assert_field_error(
        typo, "code", "This code contains a typing error. Check each character and try again."
    )
    wrong = client.post(url, {"code": codes.display(codes.generate())})
    _assert_field_error(wrong, "code", "This revocation code is not right.")
    access = _clear_codes(issued)[("AFFILIATIONS", CodeKind.HOLDER)]
    _assert_field_error(
        client.post(url, {"code": access}), "code", "This revocation code is not right."
    )
    _assert_field_error(
        client.post(url, {"code": ""}), "code", "Enter the revocation code from the letter."
    )
    _assert_field_error(
        client.post(reverse("certification:revoke_confirm"), {"code": "ABC"}),
        "code",
        "This code contains a typing error. Check each character and try again.",
    )
    assert Mandate.objects.get(grantee_space=issued.space).status == MandateStatus.ACTIVE


# The domain page and eDelivery


def test_the_domain_page_lists_the_services_and_switches_edelivery_on_once(
    web: Client, space: Space, employer: Employer
) -> None:
    factories.mandate(employer_=employer, space=space, domain_code="AFFILIATIONS", level="consult")
    url = reverse("portal:domain", args=[space.pk, employer.pk, "AFFILIATIONS"])
    first = web.get(url)
    assert first.status_code == 200
    page = _text(first)
    assert "Employee affiliations" in page
    assert "eDelivery is now on" in page
    subscription = EDelivery.objects.get(employer=employer)
    assert (subscription.domain.code, subscription.space_id) == ("AFFILIATIONS", space.pk)
    assert "Available" in page and "Not with your level" in page, "consult level, act services"
    again = _text(web.get(url))
    assert "eDelivery is now on" not in again
    assert "eDelivery on since" in again
    assert EDelivery.objects.count() == 1


def test_the_domain_page_answers_404_alike_for_missing_and_forbidden(
    space: Space, employer: Employer, boss: User
) -> None:
    factories.mandate(employer_=employer, space=space, domain_code="AFFILIATIONS")
    url = reverse("portal:domain", args=[space.pk, employer.pk, "AFFILIATIONS"])
    stranger = _client(factories.user())
    forbidden = stranger.get(url)
    missing_employer = (Employer.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    missing = _client(boss).get(
        reverse("portal:domain", args=[space.pk, missing_employer, "AFFILIATIONS"])
    )
    uncertified = _client(boss).get(
        reverse("portal:domain", args=[space.pk, employer.pk, "BILLING"])
    )
    assert forbidden.status_code == missing.status_code == uncertified.status_code == 404
    assert not EDelivery.objects.exists()
    # A member restricted away from the domain is refused alike.
    colleague = factories.user()
    membership = space_services.member_add(by=boss, space=space, user=colleague)
    Membership.objects.filter(pk=membership.pk).update(restrict_domains=True)
    assert _client(colleague).get(url).status_code == 404
    assert not EDelivery.objects.exists()


# The space page: notices and the e-Box


def _delivered_letter(space: Space, employer: Employer) -> Delivery:
    factories.mandate(employer_=employer, space=space, domain_code="BILLING")
    documents.edelivery_note_use(space=space, employer=employer, domain=factories.domain("BILLING"))
    content = CodeLetter(
        kind=LetterKind.HOLDER_CODES,
        language="en",
        reference="CR-0000001",
        employer_name=employer.name,
        employer_number=employer.employer_number,
        recipient=Recipient(employer.name, "1, rue de la Test", "", "1234", "Luxembourg", "LU"),
        issued_at=employer.organisation.created_at,
        activation_deadline=employer.organisation.created_at,
        lines=(CodeLine(domain=factories.domain("BILLING"), access_code="XXXX"),),
    )
    letter = documents.letter_store(
        content=content, employer=employer, request_id=None, pdf=b"%PDF-1.7 the letter", pages=1
    )
    return Delivery.objects.get(letter=letter)


def test_the_e_box_letter_downloads_for_members_only(
    web: Client, boss: User, space: Space, employer: Employer
) -> None:
    delivery = _delivered_letter(space, employer)
    overview = _text(web.get(reverse("portal:space", args=[space.pk])))
    url = reverse("portal:ebox_letter", args=[space.pk, delivery.pk])
    assert url in overview
    assert "New document in the e-Box" in overview
    response = web.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == b"%PDF-1.7 the letter"
    assert "no-store" in response["Cache-Control"]

    stranger = factories.user()
    own = factories.space_of(factories.organisation(), admin=stranger)
    assert _client(stranger).get(url).status_code == 404
    assert (
        _client(stranger).get(reverse("portal:ebox_letter", args=[own.pk, delivery.pk])).status_code
        == 404
    )
    # A letter with access codes opens to the space's administrators only.
    collaborator = factories.user()
    space_services.member_add(by=boss, space=space, user=collaborator)
    assert _client(collaborator).get(url).status_code == 404
    leaver = factories.user()
    membership = space_services.member_add(by=boss, space=space, user=leaver, role="admin")
    assert _client(leaver).get(url).status_code == 200
    space_services.member_remove(by=boss, membership=membership)
    assert _client(leaver).get(url).status_code == 404


def test_the_space_page_lists_unread_notices_and_marks_them_read(
    web: Client, space: Space, issued: CertificationRequest
) -> None:
    Notice.objects.create(
        space=space,
        kind=NoticeKind.REQUEST_REJECTED,
        params={"request": 1, "reason": "The employer number is closed."},
    )
    Notice.objects.create(
        space=space,
        kind=NoticeKind.REQUEST_EXPIRED,
        params={"request": 1, "reference": "CR-0000001"},
    )
    Notice.objects.create(
        space=space,
        kind=NoticeKind.ACTIVATION_REMINDER,
        params={
            "request": issued.pk,
            "reference": "CR-0000042",
            "deadline": "2026-12-24T10:00:00+00:00",
            "pending": [
                {"domain": "AFFILIATIONS", "kind": "holder", "representative": ""},
                {
                    "domain": "AFFILIATIONS",
                    "kind": "representative",
                    "representative": "Salary S.A.",
                },
            ],
        },
    )
    page = _text(web.get(reverse("portal:space", args=[space.pk])))
    assert "Your certification request was rejected" in page
    assert "The employer number is closed." in page
    assert "Your certification request has expired" in page
    assert page.count(f'href="{_step("request", space)}"') >= 2, "no start-again link"
    assert "Access codes are waiting to be used" in page
    assert "Employee affiliations: holder access code" in page
    assert "Employee affiliations: representative access code for Salary S.A." in page
    rejected = Notice.objects.get(kind=NoticeKind.REQUEST_REJECTED)
    read = reverse("portal:notice_read", args=[space.pk, rejected.pk])
    assert web.get(read).status_code == 405
    _redirects_to(web.post(read), reverse("portal:space", args=[space.pk]))
    rejected.refresh_from_db()
    assert rejected.read_at is not None
    assert "The employer number is closed." not in _text(
        web.get(reverse("portal:space", args=[space.pk]))
    )
    other = factories.space_of(factories.organisation())
    foreign = Notice.objects.create(space=other, kind=NoticeKind.REQUEST_EXPIRED, params={})
    assert web.post(reverse("portal:notice_read", args=[space.pk, foreign.pk])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.read_at is None


def test_the_certifications_tab_shows_since_when_and_links_the_domain_page(
    web: Client, space: Space, employer: Employer
) -> None:
    mandate = factories.mandate(employer_=employer, space=space, domain_code="REMUNERATIONS")
    page = _text(web.get(reverse("certification:certifications", args=[space.pk])))
    assert "Certified" in page
    assert page.count("Not certified") == 3
    assert reverse("portal:domain", args=[space.pk, employer.pk, "REMUNERATIONS"]) in page
    assert reverse("certification:request", args=[space.pk]) in page
    assert mandate.activated_at is not None
    assert f"since {date_filter(mandate.activated_at, 'DATE_FORMAT')}" in page
