"""Reads of the certification pages: the open request, its saved answers, the space's rights."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Domain, Institution
from mandat.certification.models import OPEN_STATUSES, CertificationRequest, Delegation
from mandat.core.errors import NotFoundOrForbidden
from mandat.mandates import selectors as mandate_selectors
from mandat.mandates.models import Mandate
from mandat.registry.models import Employer
from mandat.spaces.models import Space


def filing_institution(*, space: Space) -> Institution | None:
    """The institution the space's organisation is registered with as an employer, else the
    first institution of the catalogue (a space that is no employer is refused anyway)."""
    registered = (
        Employer.objects.filter(organisation_id=space.organisation_id)
        .select_related("institution")
        .order_by("institution__code")
        .first()
        if space.organisation_id is not None
        else None
    )
    if registered is not None:
        return registered.institution
    return Institution.objects.order_by("code").first()


def is_employer_space(*, space: Space) -> bool:
    """Whether the space belongs to an organisation registered as an employer (may file B)."""
    return (
        space.organisation_id is not None
        and Employer.objects.filter(organisation_id=space.organisation_id).exists()
    )


def open_request(*, space: Space) -> CertificationRequest | None:
    """The space's request that is neither closed nor finished, if there is one."""
    return (
        CertificationRequest.objects.select_related("employer", "institution")
        .filter(space=space, status__in=OPEN_STATUSES)
        .first()
    )


def latest_request(*, space: Space) -> CertificationRequest | None:
    return (
        CertificationRequest.objects.select_related("employer", "institution")
        .filter(space=space)
        .first()
    )


def signed_request(*, space: Space, request_id: int) -> CertificationRequest | None:
    """A request of the space that carries a signed document."""
    return CertificationRequest.objects.filter(
        space=space, pk=request_id, signed_pdf__isnull=False
    ).first()


def all_domains() -> QuerySet[Domain]:
    return Domain.objects.select_related("institution").order_by(
        "institution__code", "position", "code"
    )


def domain_by_id(*, domain_id: int) -> Domain | None:
    return all_domains().filter(pk=domain_id).first()


def delegable_domains(*, institution: Institution) -> QuerySet[Domain]:
    return Domain.objects.filter(institution=institution).order_by("position", "code")


@dataclass
class RepresentativeAnswers:
    """The answers of the representative sub-steps, as the pages ask them one by one."""

    has: bool | None = None
    same: bool | None = None
    domains: list[str] = field(default_factory=list)
    #: per domain code: registration_number, name, level
    details: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "has": self.has,
            "same": self.same,
            "domains": list(self.domains),
            "details": {code: dict(answer) for code, answer in self.details.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RepresentativeAnswers:
        has, same = data.get("has"), data.get("same")
        domains = data.get("domains")
        details = data.get("details")
        return cls(
            has=has if isinstance(has, bool) else None,
            same=same if isinstance(same, bool) else None,
            domains=[str(code) for code in domains] if isinstance(domains, list) else [],
            details={
                str(code): {key: str(value) for key, value in answer.items()}
                for code, answer in details.items()
                if isinstance(answer, dict)
            }
            if isinstance(details, dict)
            else {},
        )


def representative_answers(*, request: CertificationRequest) -> RepresentativeAnswers:
    """What the draft holds for the representative steps, as typed."""
    delegations = list(request.delegations.select_related("domain").order_by("domain__position"))
    return RepresentativeAnswers(
        has=request.has_representative,
        same=request.same_representative,
        domains=[d.domain.code for d in delegations],
        details={
            d.domain.code: {
                "registration_number": d.registration_number_typed,
                "name": d.name_typed,
                "level": d.level,
            }
            for d in delegations
        },
    )


def delegations_of(*, request: CertificationRequest) -> list[Delegation]:
    return list(
        request.delegations.select_related("domain", "representative").order_by("domain__position")
    )


@dataclass(frozen=True)
class DomainCertification:
    domain: Domain
    mandate: Mandate | None


def certifications_by_domain(*, space: Space) -> list[DomainCertification]:
    """Every catalogue domain with the space's own certification for it, if any."""
    held: dict[int, Mandate] = {}
    for mandate in mandate_selectors.certifications_of_space(space=space):
        held.setdefault(mandate.domain_id, mandate)
    return [DomainCertification(domain=d, mandate=held.get(d.pk)) for d in all_domains()]


def obtained_of_space(*, space: Space, limit: int = 50) -> list[Mandate]:
    """The first mandates the space obtained from clients (the portal lists them all)."""
    return list(mandate_selectors.obtained_mandates_of_space(space=space)[:limit])


def space_mandate(*, space: Space, mandate_id: int) -> Mandate:
    """An active mandate the space holds; one error for missing and someone else's."""
    mandate = (
        mandate_selectors.active_mandates(space=space)
        .select_related("domain", "employer")
        .filter(pk=mandate_id)
        .first()
    )
    if mandate is None:
        raise NotFoundOrForbidden(
            _("This certification does not exist or you may not see it."), code="not_found"
        )
    return mandate
