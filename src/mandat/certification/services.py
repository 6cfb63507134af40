"""Procedure B: the certification request, from draft to transmission, and its back-office fate.

Each step is a guarded service: it refuses a request in the wrong state and a
person who is not an administrator of the filing space. Issuing lives in
``certification.issuing``; redeeming codes in ``certification.redemption``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.accounts.policies import require_agent
from mandat.catalog.models import Domain, Institution, Level
from mandat.certification.models import (
    OPEN_STATUSES,
    CertificationRequest,
    Delegation,
    RequestStatus,
)
from mandat.core import audit, secrets, time
from mandat.core.errors import ApplicationError
from mandat.documents.models import Notice, NoticeKind
from mandat.registry import selectors as registry
from mandat.registry.models import Employer
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Space, SpaceKind

SECURITY_CODE_LENGTH = (6, 10)
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,25}$")


@dataclass(frozen=True)
class DelegationInput:
    domain_code: str
    registration_number: str
    name: str
    level: str


def _wrong_state(expected: object) -> ApplicationError:
    return ApplicationError(
        _("This request is not in a state that allows this step (expected: %(expected)s)."),
        code="request_wrong_state",
        expected=expected,
    )


def _require_filer(user: User, request: CertificationRequest) -> None:
    if not space_selectors.is_admin(user=user, space=request.space):
        raise ApplicationError(
            _("Only an administrator of the employer's space may file this request."),
            code="space_admin_required",
        )


def _editable(user: User, request: CertificationRequest) -> CertificationRequest:
    """Lock the request for a draft step; refuse anything but a draft."""
    locked = CertificationRequest.objects.select_for_update().get(pk=request.pk)
    _require_filer(user, locked)
    if locked.status != RequestStatus.DRAFT:
        raise _wrong_state(RequestStatus.DRAFT.label)
    return locked


def employer_of_space(*, space: Space, institution: Institution) -> Employer | None:
    """The employer a professional space files for: its own organisation's registration."""
    if space.kind != SpaceKind.PROFESSIONAL or space.organisation_id is None:
        return None
    return Employer.objects.filter(
        organisation_id=space.organisation_id, institution=institution
    ).first()


@transaction.atomic(durable=True)
def request_start(*, by: User, space: Space, institution: Institution) -> CertificationRequest:
    """Open a draft, or return the draft already open for this employer."""
    if not space_selectors.is_admin(user=by, space=space):
        raise ApplicationError(
            _("Only an administrator of the employer's space may file this request."),
            code="space_admin_required",
        )
    employer = employer_of_space(space=space, institution=institution)
    if employer is None:
        raise ApplicationError(
            _(
                "Only an employer's own professional space can file a certification request. "
                "A representative cannot file one for a client: the employer files it and "
                "names the representative."
            ),
            code="not_an_employer_space",
        )
    existing = (
        CertificationRequest.objects.select_for_update()
        .filter(employer=employer, status__in=OPEN_STATUSES)
        .first()
    )
    if existing is not None:
        if existing.status == RequestStatus.DRAFT:
            return existing
        raise ApplicationError(
            _("A certification request for this employer is already in progress."),
            code="request_in_progress",
        )
    try:
        with transaction.atomic():
            request = CertificationRequest.objects.create(
                space=space, institution=institution, employer=employer, created_by=by
            )
    except IntegrityError as error:
        raise ApplicationError(
            _("A certification request for this employer is already in progress."),
            code="request_in_progress",
        ) from error
    audit.record("request.started", actor_id=by.pk, employer_id=employer.pk, obj=request)
    return request


@transaction.atomic(durable=True)
def request_consent(
    *, by: User, request: CertificationRequest, consent: bool
) -> CertificationRequest:
    request = _editable(by, request)
    if not consent:
        raise ApplicationError(
            _("You must accept the data-protection notice to continue."),
            code="consent_required",
            field="consent",
        )
    request.consent_at = time.now()
    request.save(update_fields=["consent_at", "updated_at"])
    return request


@transaction.atomic(durable=True)
def request_set_filer(
    *, by: User, request: CertificationRequest, name: str, email: str, phone: str
) -> CertificationRequest:
    request = _editable(by, request)
    name, email, phone = " ".join(name.split()), email.strip(), phone.strip()
    if not name:
        raise ApplicationError(_("Enter your name."), code="filer_name_required", field="name")
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(
            _("Enter an e-mail address in the right format, like name@example.lu."),
            code="filer_email_invalid",
            field="email",
        ) from None
    if not _PHONE.match(phone):
        raise ApplicationError(
            _("Enter a phone number, like +352 247 86 000."),
            code="filer_phone_invalid",
            field="phone",
        )
    request.filer_name, request.filer_email, request.filer_phone = name, email, phone
    request.save(update_fields=["filer_name", "filer_email", "filer_phone", "updated_at"])
    return request


@transaction.atomic(durable=True)
def request_set_employer(
    *, by: User, request: CertificationRequest, employer_number: str, employer_name: str
) -> CertificationRequest:
    """Check the employer against the registry: number and name must both match."""
    request = _editable(by, request)
    try:
        matched = registry.employer_match(
            institution=request.institution, employer_number=employer_number, name=employer_name
        )
    except ApplicationError as error:
        error.field = "employer_number"
        raise
    if matched.pk != request.employer_id:
        raise ApplicationError(
            _(
                "A space can only file for its own employer. A representative cannot file "
                "for a client: the employer files the request and names the representative."
            ),
            code="not_own_employer",
            field="employer_number",
        )
    request.employer_number_typed = matched.employer_number
    request.employer_name_typed = " ".join(employer_name.split())
    request.save(update_fields=["employer_number_typed", "employer_name_typed", "updated_at"])
    return request


def _delegations(
    request: CertificationRequest, inputs: Sequence[DelegationInput], *, same: bool
) -> list[Delegation]:
    domains = {d.code: d for d in Domain.objects.filter(institution=request.institution)}
    seen: set[str] = set()
    rows = []
    for item in inputs:
        domain = domains.get(item.domain_code)
        if domain is None or item.domain_code in seen:
            raise ApplicationError(
                _("Choose each domain to delegate once."),
                code="delegation_domain_invalid",
                field="domains",
            )
        seen.add(item.domain_code)
        rows.append(
            Delegation(
                request=request,
                domain=domain,
                registration_number_typed=item.registration_number,
                name_typed=" ".join(item.name.split()),
                level=item.level if item.level in Level.values else "",
            )
        )
    # Compared as the registry compares them, so one representative typed with other
    # spacing or case is still the same one.
    typed = {
        ("".join(r.registration_number_typed.split()), registry.comparable_name(r.name_typed))
        for r in rows
    }
    if same and len(typed) > 1:
        raise ApplicationError(
            _("You said the representative is the same for each domain."),
            code="representative_not_same",
            field="domains",
        )
    return rows


@transaction.atomic(durable=True)
def request_set_representatives(
    *,
    by: User,
    request: CertificationRequest,
    has_representative: bool,
    same_representative: bool | None,
    delegations: Sequence[DelegationInput],
) -> CertificationRequest:
    """Record which domains are delegated, to whom and at which level.

    A failed check names the field of the domain it concerns, so the page can
    show the error there with everything typed still in place.
    """
    request = _editable(by, request)
    request.has_representative = has_representative
    request.same_representative = same_representative if has_representative else None
    request.save(update_fields=["has_representative", "same_representative", "updated_at"])
    request.delegations.all().delete()
    if not has_representative:
        return request
    if same_representative is None:
        raise ApplicationError(
            _("Say whether the representative is the same for each domain."),
            code="same_representative_required",
            field="same_representative",
        )
    rows = _delegations(request, delegations, same=same_representative)
    if not rows:
        raise ApplicationError(
            _("Choose at least one domain to delegate."),
            code="delegation_domain_required",
            field="domains",
        )
    for row in rows:
        prefix = f"{row.domain.code}-"
        if not row.level:
            raise ApplicationError(
                _("Choose consultation or action."),
                code="delegation_level_required",
                field=prefix + "level",
            )
        try:
            row.representative = registry.representative_match(
                registration_number=row.registration_number_typed, name=row.name_typed
            )
        except ApplicationError as error:
            error.field = prefix + "registration_number"
            raise
        if row.representative.organisation_id == request.space.organisation_id:
            raise ApplicationError(
                _("The employer cannot be its own representative."),
                code="representative_is_employer",
                field=prefix + "registration_number",
            )
    Delegation.objects.bulk_create(rows)
    return request


@transaction.atomic(durable=True)
def request_set_security_code(
    *, by: User, request: CertificationRequest, security_code: str, confirmation: str
) -> CertificationRequest:
    request = _editable(by, request)
    low, high = SECURITY_CODE_LENGTH
    if not low <= len(security_code) <= high:
        raise ApplicationError(
            _("The security code must have between %(low)s and %(high)s characters."),
            code="security_code_length",
            field="security_code",
            low=low,
            high=high,
        )
    if security_code != confirmation:
        raise ApplicationError(
            _("The two security codes are not the same."),
            code="security_code_mismatch",
            field="confirmation",
        )
    request.security_code_hash = secrets.hash_secret(security_code)
    request.save(update_fields=["security_code_hash", "updated_at"])
    return request


def missing_steps(request: CertificationRequest) -> list[str]:
    """The draft steps still to answer, in order; empty when the request can be signed."""
    missing = []
    if request.consent_at is None:
        missing.append("consent")
    if not (request.filer_name and request.filer_email and request.filer_phone):
        missing.append("filer")
    if not request.employer_number_typed:
        missing.append("employer")
    if request.has_representative is None or (
        request.has_representative
        and (
            not request.delegations.exists()
            or request.delegations.filter(representative__isnull=True).exists()
        )
    ):
        missing.append("representatives")
    if not request.security_code_hash:
        missing.append("security_code")
    return missing


@dataclass(frozen=True)
class SignerCertificate:
    """A signer's own certificate and key, as a PKCS#12 file and its passphrase."""

    pkcs12: bytes
    passphrase: bytes


@transaction.atomic(durable=True)
def request_sign(
    *, by: User, request: CertificationRequest, certificate: SignerCertificate | None = None
) -> CertificationRequest:
    """Render the request as a PDF summary and sign it: PAdES with the signer's certificate,
    or the platform's seal naming the authenticated signer."""
    from mandat.certification import signing
    from mandat.documents import rendering

    request = _editable(by, request)
    missing = missing_steps(request)
    if missing:
        raise ApplicationError(
            _("Some answers are missing. Complete every step before signing."),
            code="request_incomplete",
            missing=", ".join(missing),
        )
    summary = rendering.render_request_summary(request)
    signed = signing.sign_request_pdf(summary, signer=by, certificate=certificate)
    request.summary_sha256 = hashlib.sha256(summary).hexdigest()
    request.signed_pdf = signed.pdf
    request.signed_pdf_sha256 = hashlib.sha256(signed.pdf).hexdigest()
    request.signature_method = signed.method
    request.signed_at, request.signed_by = time.now(), by
    request.status = RequestStatus.SIGNED
    request.save()
    audit.record(
        "request.signed",
        actor_id=by.pk,
        employer_id=request.employer_id,
        obj=request,
        data={
            "summary_sha256": request.summary_sha256,
            "method": signed.method,
            "signer": signed.signer_name,
            "signed_pdf_sha256": request.signed_pdf_sha256,
        },
    )
    return request


@transaction.atomic(durable=True)
def request_reopen(*, by: User, request: CertificationRequest) -> CertificationRequest:
    """Change a signed but untransmitted request: it goes back to draft, unsigned."""
    request = CertificationRequest.objects.select_for_update().get(pk=request.pk)
    _require_filer(by, request)
    if request.status != RequestStatus.SIGNED:
        raise _wrong_state(RequestStatus.SIGNED.label)
    request.status = RequestStatus.DRAFT
    request.signed_pdf, request.signed_pdf_sha256, request.summary_sha256 = None, "", ""
    request.signature_method, request.signed_at, request.signed_by = "", None, None
    request.save()
    audit.record("request.reopened", actor_id=by.pk, employer_id=request.employer_id, obj=request)
    return request


@transaction.atomic(durable=True)
def request_transmit(
    *, by: User, request: CertificationRequest, confirmed: bool
) -> CertificationRequest:
    """Send the signed request to the institution (the page asks twice; ``confirmed`` is the
    second answer)."""
    request = CertificationRequest.objects.select_for_update().get(pk=request.pk)
    _require_filer(by, request)
    if request.status != RequestStatus.SIGNED:
        raise _wrong_state(RequestStatus.SIGNED.label)
    if not confirmed:
        raise ApplicationError(
            _("Confirm that you want to transmit the request."),
            code="transmit_unconfirmed",
            field="confirm",
        )
    request.status = RequestStatus.TRANSMITTED
    request.transmitted_at = time.now()
    request.save(update_fields=["status", "transmitted_at", "updated_at"])
    audit.record(
        "request.transmitted", actor_id=by.pk, employer_id=request.employer_id, obj=request
    )
    if settings.MANDAT_AUTO_ISSUE:
        from mandat.certification.tasks import auto_issue_request

        request_id = request.pk
        transaction.on_commit(lambda: auto_issue_request.enqueue(request_id))
    return request


@transaction.atomic(durable=True)
def request_reject(*, by: User, request: CertificationRequest, reason: str) -> CertificationRequest:
    require_agent(by)
    request = CertificationRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.TRANSMITTED:
        raise _wrong_state(RequestStatus.TRANSMITTED.label)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(
            _("Give the reason for the rejection; the employer will read it."),
            code="reason_required",
            field="reason",
        )
    request.status = RequestStatus.REJECTED
    request.rejected_at, request.rejected_by, request.rejection_reason = time.now(), by, reason
    request.closed_at = request.rejected_at
    request.save()
    Notice.objects.create(
        space=request.space,
        kind=NoticeKind.REQUEST_REJECTED,
        params={"request": request.pk, "reason": reason},
    )
    audit.record(
        "request.rejected",
        actor_id=by.pk,
        employer_id=request.employer_id,
        obj=request,
        data={"reason": reason},
    )
    return request
