"""Procedures B and C over HTTP: the certification request, redeeming codes, revoking.

The endpoints are thin: they find what the caller may see, call one service of
``certification.services`` or ``certification.redemption``, and describe the
result. Every refusal is a problem document (``mandat.api.problems``).

A request is visible only to the administrators of the space that filed it;
anyone else, and a missing id, gets the same 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import Router, Status

from mandat.accounts import assurance
from mandat.api.auth import caller
from mandat.api.problems import problems
from mandat.catalog.models import Domain, Institution, Level
from mandat.certification import issuing, redemption, services
from mandat.certification import selectors as cert_selectors
from mandat.certification.models import CertificationRequest, RequestStatus
from mandat.certification.schemas import (
    Answers,
    CertificationRequestOut,
    ConsentIn,
    DelegationAnswer,
    DomainOut,
    EmployerAnswer,
    EmployerIn,
    EmployerOut,
    FilerAnswer,
    FilerIn,
    Id,
    MandateOut,
    RedeemIn,
    RepresentativesAnswer,
    RepresentativesIn,
    RevocationCodeIn,
    RevocationOut,
    RevocationPreviewOut,
    SecurityCodeIn,
    StartIn,
    TransmitIn,
)
from mandat.core import throttle
from mandat.core.codes import CodeTypo
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.mandates.models import Mandate, MandateKind, MandateSource, MandateStatus
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Space

router = Router(tags=["certification"], by_alias=True)

#: Errors of a call that reads one of the caller's requests.
_READ = problems(401, 404, 422)
#: Errors of a call that changes one of the caller's requests.
_WRITE = problems(400, 401, 403, 404, 409, 422)
#: Errors of a public call with a code.
_PUBLIC = problems(400, 409, 422)


def _access_request(request: HttpRequest, request_id: int) -> CertificationRequest:
    """The request if the caller administers its space; the same error if missing or not."""
    user = caller(request)
    found = (
        CertificationRequest.objects.select_related("institution", "employer", "space")
        .filter(pk=request_id, space__closed_at__isnull=True)
        .first()
    )
    if found is None or not space_selectors.is_admin(user=user, space=found.space):
        raise NotFoundOrForbidden(
            _("This certification request does not exist or you may not open it."),
            code="not_found",
        )
    return found


def _stepped_up(request: HttpRequest) -> None:
    """Refuse a binding act to a session below ``MANDAT_STEP_UP_LEVEL`` (403
    ``step_up_required``): the person steps up in the portal, then calls again."""
    if assurance.needs_step_up(request):
        raise ApplicationError(
            _(
                "This needs a stronger login: confirm it with your second factor in the portal "
                "(%(url)s), then try again."
            )
            % {"url": reverse("accounts:step_up")},
            code="step_up_required",
        )


def _institution(code: str | None, *, space: Space) -> Institution:
    """The institution named, or the one the portal would file with for this space."""
    if code is None:
        found = cert_selectors.filing_institution(space=space)
    else:
        found = Institution.objects.filter(code=code).first()
    if found is None:
        raise ApplicationError(
            _("There is no institution with this code."),
            code="institution_unknown",
            field="institution",
        )
    return found


def _domain(code: str, institution: str | None) -> Domain:
    domains = Domain.objects.select_related("institution").filter(code=code)
    if institution is not None:
        domains = domains.filter(institution__code=institution)
    found = list(domains[:2])
    if len(found) != 1:
        raise ApplicationError(
            _("There is no domain with this code."),
            code="domain_unknown",
            field="domain",
        )
    return found[0]


@contextmanager
def _typo_names(field: str) -> Iterator[None]:
    """A typing error in a code belongs to the body's field that holds the code."""
    try:
        yield
    except CodeTypo as error:
        error.field = error.field or field
        raise


# --- descriptions ---------------------------------------------------------------------------


def _domain_out(domain: Domain) -> DomainOut:
    return DomainOut(institution=domain.institution.code, code=domain.code, name=domain.name)


def _described(certification_request: CertificationRequest) -> CertificationRequestOut:
    employer = certification_request.employer
    delegations = [
        DelegationAnswer(
            domain=d.domain.code,
            registration_number=d.registration_number_typed,
            name=d.name_typed,
            level=Level(d.level) if d.level else None,
            representative_found=d.representative_id is not None,
        )
        for d in certification_request.delegations.select_related("domain")
    ]
    return CertificationRequestOut(
        id=certification_request.pk,
        reference=issuing.reference(certification_request),
        space_id=certification_request.space_id,
        institution=certification_request.institution.code,
        employer=EmployerOut(employer_number=employer.employer_number, name=employer.name)
        if employer
        else None,
        status=RequestStatus(certification_request.status),
        status_label=str(RequestStatus(certification_request.status).label),
        answers=Answers(
            consent_at=certification_request.consent_at,
            filer=FilerAnswer(
                name=certification_request.filer_name,
                email=certification_request.filer_email,
                phone=certification_request.filer_phone,
            ),
            employer=EmployerAnswer(
                employer_number=certification_request.employer_number_typed,
                employer_name=certification_request.employer_name_typed,
            ),
            representatives=RepresentativesAnswer(
                has_representative=certification_request.has_representative,
                same_representative=certification_request.same_representative,
                delegations=delegations,
            ),
            security_code_set=bool(certification_request.security_code_hash),
        ),
        missing_steps=services.missing_steps(certification_request),  # type: ignore[arg-type]
        created_at=certification_request.created_at,
        updated_at=certification_request.updated_at,
        signed_at=certification_request.signed_at,
        transmitted_at=certification_request.transmitted_at,
        issued_at=certification_request.issued_at,
        activation_deadline=certification_request.activation_deadline,
        rejected_at=certification_request.rejected_at,
        rejection_reason=certification_request.rejection_reason,
        closed_at=certification_request.closed_at,
    )


def _mandate_out(mandate: Mandate) -> MandateOut:
    employer = mandate.employer
    return MandateOut(
        id=mandate.pk,
        employer=EmployerOut(employer_number=employer.employer_number, name=employer.name),
        domain=_domain_out(mandate.domain),
        space_id=mandate.grantee_space_id,
        kind=MandateKind(mandate.kind),
        level=Level(mandate.level),
        source=MandateSource(mandate.source),
        status=MandateStatus(mandate.status),
        valid_from=mandate.valid_from,
        valid_until=mandate.valid_until,
        activated_at=mandate.activated_at,
    )


# --- procedure B: the request ---------------------------------------------------------------


@router.post(
    "/spaces/{space_id}/certification-requests",
    response={200: CertificationRequestOut, 201: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_start",
)
def request_start(
    request: HttpRequest, space_id: Id, payload: StartIn | None = None
) -> Status[CertificationRequestOut]:
    """Open a certification request for the space's employer, or resume its open draft.

    201 with a new draft; 200 with the draft already open. Only the employer's own
    professional space may file, and only its administrators.
    """
    user = caller(request)
    space = space_selectors.access_space(user=user, space_id=space_id)
    institution = _institution(payload.institution if payload else None, space=space)
    drafts = set(
        CertificationRequest.objects.filter(space=space, status=RequestStatus.DRAFT).values_list(
            "pk", flat=True
        )
    )
    certification_request = services.request_start(by=user, space=space, institution=institution)
    status = 200 if certification_request.pk in drafts else 201
    return Status(status, _described(certification_request))


@router.get(
    "/certification-requests/{request_id}",
    response={200: CertificationRequestOut, **_READ},
    operation_id="certification_request_get",
)
def request_get(request: HttpRequest, request_id: Id) -> CertificationRequestOut:
    """The request's status, its answers (never the security code), the steps still missing
    and, once issued, the activation deadline."""
    return _described(_access_request(request, request_id))


@router.put(
    "/certification-requests/{request_id}/consent",
    response={200: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_consent",
)
def request_consent(
    request: HttpRequest, request_id: Id, payload: ConsentIn
) -> CertificationRequestOut:
    """Step 1: accept the data-protection notice (required)."""
    certification_request = _access_request(request, request_id)
    return _described(
        services.request_consent(
            by=caller(request), request=certification_request, consent=payload.consent
        )
    )


@router.put(
    "/certification-requests/{request_id}/filer",
    response={200: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_set_filer",
)
def request_set_filer(
    request: HttpRequest, request_id: Id, payload: FilerIn
) -> CertificationRequestOut:
    """Step 2: who files the request."""
    certification_request = _access_request(request, request_id)
    return _described(
        services.request_set_filer(
            by=caller(request),
            request=certification_request,
            name=payload.name,
            email=payload.email,
            phone=payload.phone,
        )
    )


@router.put(
    "/certification-requests/{request_id}/employer",
    response={200: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_set_employer",
)
def request_set_employer(
    request: HttpRequest, request_id: Id, payload: EmployerIn
) -> CertificationRequestOut:
    """Step 3: the employer number and name; both must match the registry."""
    certification_request = _access_request(request, request_id)
    return _described(
        services.request_set_employer(
            by=caller(request),
            request=certification_request,
            employer_number=payload.employer_number,
            employer_name=payload.employer_name,
        )
    )


def _delegation_field(field: str | None, payload: RepresentativesIn) -> str | None:
    """The service names form fields (``domains``, ``AFFILIATIONS-level``); the API names the
    body's (``delegations``, ``delegations.1.level``)."""
    if field == "domains":
        return "delegations"
    if field and "-" in field:
        domain, _sep, rest = field.partition("-")
        for index, item in enumerate(payload.delegations):
            if item.domain == domain:
                return f"delegations.{index}.{rest}"
    return field


@router.put(
    "/certification-requests/{request_id}/representatives",
    response={200: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_set_representatives",
)
def request_set_representatives(
    request: HttpRequest, request_id: Id, payload: RepresentativesIn
) -> CertificationRequestOut:
    """Step 4: the delegated domains, each with its representative (registration number and
    name, checked against the registry) and level. Replaces earlier answers."""
    certification_request = _access_request(request, request_id)
    try:
        updated = services.request_set_representatives(
            by=caller(request),
            request=certification_request,
            has_representative=payload.has_representative,
            same_representative=payload.same_representative,
            delegations=[
                services.DelegationInput(
                    domain_code=item.domain,
                    registration_number=item.registration_number,
                    name=item.name,
                    level=item.level.value,
                )
                for item in payload.delegations
            ],
        )
    except ApplicationError as error:
        error.field = _delegation_field(error.field, payload)
        raise
    return _described(updated)


@router.put(
    "/certification-requests/{request_id}/security-code",
    response={200: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_set_security_code",
)
def request_set_security_code(
    request: HttpRequest, request_id: Id, payload: SecurityCodeIn
) -> CertificationRequestOut:
    """Step 5: the security code (6 to 10 characters), typed twice. Only its hash is kept."""
    certification_request = _access_request(request, request_id)
    return _described(
        services.request_set_security_code(
            by=caller(request),
            request=certification_request,
            security_code=payload.security_code,
            confirmation=payload.confirmation,
        )
    )


@router.post(
    "/certification-requests/{request_id}/sign",
    response={200: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_sign",
)
def request_sign(request: HttpRequest, request_id: Id) -> CertificationRequestOut:
    """Step 7: render the summary and sign it with the platform's seal, naming the caller.
    Every step must be answered (409 ``request_incomplete`` otherwise). A session below the
    step-up level gets 403 ``step_up_required``."""
    _stepped_up(request)
    certification_request = _access_request(request, request_id)
    return _described(services.request_sign(by=caller(request), request=certification_request))


@router.post(
    "/certification-requests/{request_id}/reopen",
    response={200: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_reopen",
)
def request_reopen(request: HttpRequest, request_id: Id) -> CertificationRequestOut:
    """Change a signed, untransmitted request: it goes back to draft and loses its signature."""
    certification_request = _access_request(request, request_id)
    return _described(services.request_reopen(by=caller(request), request=certification_request))


@router.post(
    "/certification-requests/{request_id}/transmit",
    response={200: CertificationRequestOut, **_WRITE},
    operation_id="certification_request_transmit",
)
def request_transmit(
    request: HttpRequest, request_id: Id, payload: TransmitIn
) -> CertificationRequestOut:
    """Step 8: send the signed request to the institution. ``confirm`` must be true.
    A session below the step-up level gets 403 ``step_up_required``."""
    _stepped_up(request)
    certification_request = _access_request(request, request_id)
    return _described(
        services.request_transmit(
            by=caller(request), request=certification_request, confirmed=payload.confirm
        )
    )


# --- procedure C: codes ---------------------------------------------------------------------


@router.post(
    "/spaces/{space_id}/certifications",
    response={201: MandateOut, **_WRITE, **problems(429)},
    operation_id="certification_redeem",
)
def certification_redeem(
    request: HttpRequest, space_id: Id, payload: RedeemIn
) -> Status[MandateOut]:
    """Certify the space for a domain with a posted access code and the security code.

    A typing error in the code is ``code_typo`` and does not count as a try; five wrong
    security codes lock the code. A session below the step-up level gets 403
    ``step_up_required``. Too many wrong codes from one account or address make it wait:
    429 ``too_many_failures`` with ``Retry-After``.
    """
    _stepped_up(request)
    user = caller(request)
    space = space_selectors.access_space(user=user, space_id=space_id)
    domain = _domain(payload.domain, payload.institution)
    with _typo_names("code"):
        mandate = redemption.code_redeem(
            by=user,
            space=space,
            domain=domain,
            kind=payload.kind,
            code=payload.code,
            security_code=payload.security_code,
            address=throttle.address_of(request),
        )
    return Status(201, _mandate_out(mandate))


@router.post(
    "/revocations/preview",
    response={200: RevocationPreviewOut, **_PUBLIC},
    auth=None,
    operation_id="revocation_preview",
)
def revocation_preview(request: HttpRequest, payload: RevocationCodeIn) -> RevocationPreviewOut:
    """What a revocation code would end. Public: a revocation code needs no login."""
    with _typo_names("code"):
        preview = redemption.revocation_preview(code=payload.code)
    return RevocationPreviewOut(
        employer=EmployerOut(employer_number=preview.employer_number, name=preview.employer_name),
        domain=_domain_out(preview.domain),
        certified=preview.certified,
    )


@router.post(
    "/revocations",
    response={200: RevocationOut, **_PUBLIC},
    auth=None,
    operation_id="revocation_create",
)
def revocation_create(request: HttpRequest, payload: RevocationCodeIn) -> RevocationOut:
    """End the employer's own certification for the code's domain, at once. Public."""
    with _typo_names("code"):
        mandate = redemption.certification_revoke_with_code(code=payload.code)
    assert mandate.ended_at is not None  # noqa: S101 - an ended mandate has its end time
    return RevocationOut(
        employer=EmployerOut(
            employer_number=mandate.employer.employer_number, name=mandate.employer.name
        ),
        domain=_domain_out(mandate.domain),
        ended_at=mandate.ended_at,
    )
