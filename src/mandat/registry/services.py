"""Agents register and correct organisations, employers and representatives here."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from mandat.accounts.models import User
from mandat.catalog.models import Institution
from mandat.core import audit
from mandat.core.errors import ApplicationError
from mandat.registry import identifiers
from mandat.registry.models import Employer, Language, Organisation, Representative


@dataclass(frozen=True)
class Address:
    address_line1: str
    postcode: str
    city: str
    country: str = "LU"
    address_line2: str = ""


def _require_agent(user: User) -> None:
    if not (user.is_active and user.is_agent):
        raise ApplicationError(
            _("Only an institution agent may change the registry."), code="agent_required"
        )


def _checked_language(language: str) -> str:
    if language not in Language.values:
        raise ApplicationError(
            _("This language is not offered."), code="language_invalid", field="language"
        )
    return language


def _clean_name(value: str, *, field: str = "name") -> str:
    """Collapse spacing and drop invisible control and format characters (e.g. soft hyphens)."""
    visible = "".join(c for c in value if unicodedata.category(c) not in ("Cc", "Cf"))
    name = " ".join(visible.split())
    if not name:
        raise ApplicationError(_("A name is required."), code="name_required", field=field)
    return name


def _normalized(scheme: str, value: str, *, field: str) -> str:
    """``identifiers.normalize``, with the error placed on the form field that holds ``value``."""
    try:
        return identifiers.normalize(scheme, value)
    except ApplicationError as error:
        raise ApplicationError(error.message, code=error.code, field=field) from None


def _organisation_create(
    *, by: User, name: str, scheme: str, identifier: str, name_field: str = "name"
) -> Organisation:
    normalized = _normalized(scheme, identifier, field="identifier")
    if Organisation.objects.filter(identifier_scheme=scheme, identifier=normalized).exists():
        raise ApplicationError(
            _("An organisation with this identifier is already registered."),
            code="organisation_exists",
            field="identifier",
        )
    organisation = Organisation.objects.create(
        name=_clean_name(name, field=name_field), identifier_scheme=scheme, identifier=normalized
    )
    audit.record(
        "registry.organisation_created",
        actor_id=by.pk,
        obj=organisation,
        data={"name": organisation.name, "scheme": scheme, "identifier": normalized},
    )
    return organisation


@transaction.atomic(durable=True)
def organisation_create(*, by: User, name: str, scheme: str, identifier: str) -> Organisation:
    _require_agent(by)
    return _organisation_create(by=by, name=name, scheme=scheme, identifier=identifier)


def _employer_register(
    *,
    by: User,
    organisation: Organisation,
    institution: Institution,
    employer_number: str,
    name: str,
    address: Address,
    language: str,
) -> Employer:
    number = _normalized(identifiers.Scheme.LU_NATIONAL, employer_number, field="employer_number")
    employer = Employer(
        organisation=organisation,
        institution=institution,
        employer_number=number,
        name=_clean_name(name),
        language=_checked_language(language),
        **address.__dict__,
    )
    try:
        with transaction.atomic():
            employer.save()
    except IntegrityError as error:
        raise ApplicationError(
            _("This employer number is already registered with this institution."),
            code="employer_exists",
            field="employer_number",
        ) from error
    audit.record(
        "registry.employer_registered",
        actor_id=by.pk,
        employer_id=employer.pk,
        obj=employer,
        data={"institution": institution.code, "employer_number": number, "name": employer.name},
    )
    return employer


@transaction.atomic(durable=True)
def employer_register(
    *,
    by: User,
    organisation: Organisation,
    institution: Institution,
    employer_number: str,
    name: str,
    address: Address,
    language: str = "fr",
) -> Employer:
    _require_agent(by)
    return _employer_register(
        by=by,
        organisation=organisation,
        institution=institution,
        employer_number=employer_number,
        name=name,
        address=address,
        language=language,
    )


@transaction.atomic(durable=True)
def employer_update(
    *,
    by: User,
    employer: Employer,
    name: str | None = None,
    address: Address | None = None,
    language: str | None = None,
) -> Employer:
    """Correct an employer's name, address or language; the number never changes."""
    _require_agent(by)
    changes: dict[str, str] = {}
    if name is not None:
        changes["name"] = _clean_name(name)
    if address is not None:
        changes.update(address.__dict__)
    if language is not None:
        changes["language"] = _checked_language(language)
    for attribute, value in changes.items():
        setattr(employer, attribute, value)
    employer.save(update_fields=list(changes))
    audit.record(
        "registry.employer_updated",
        actor_id=by.pk,
        employer_id=employer.pk,
        obj=employer,
        data=changes,
    )
    return employer


def _representative_register(
    *,
    by: User,
    organisation: Organisation,
    registration_number: str,
    denomination: str,
    address: Address,
) -> Representative:
    number = _normalized(
        identifiers.Scheme.LU_NATIONAL, registration_number, field="registration_number"
    )
    if Representative.objects.filter(registration_number=number).exists():
        raise ApplicationError(
            _("This registration number is already registered."),
            code="representative_exists",
            field="registration_number",
        )
    if Representative.objects.filter(organisation=organisation).exists():
        raise ApplicationError(
            _("This organisation is already registered as a representative."),
            code="representative_exists",
            field="identifier",
        )
    representative = Representative(
        organisation=organisation,
        registration_number=number,
        denomination=_clean_name(denomination, field="denomination"),
        **address.__dict__,
    )
    try:
        with transaction.atomic():
            representative.save()
    except IntegrityError as error:  # a concurrent registration won the race
        raise ApplicationError(
            _("This registration number is already registered."),
            code="representative_exists",
            field="registration_number",
        ) from error
    audit.record(
        "registry.representative_registered",
        actor_id=by.pk,
        obj=representative,
        data={"registration_number": number, "denomination": representative.denomination},
    )
    return representative


@transaction.atomic(durable=True)
def representative_register(
    *,
    by: User,
    organisation: Organisation,
    registration_number: str,
    denomination: str,
    address: Address,
) -> Representative:
    _require_agent(by)
    return _representative_register(
        by=by,
        organisation=organisation,
        registration_number=registration_number,
        denomination=denomination,
        address=address,
    )


@transaction.atomic(durable=True)
def representative_update(
    *,
    by: User,
    representative: Representative,
    denomination: str | None = None,
    address: Address | None = None,
) -> Representative:
    _require_agent(by)
    changes: dict[str, str] = {}
    if denomination is not None:
        changes["denomination"] = _clean_name(denomination, field="denomination")
    if address is not None:
        changes.update(address.__dict__)
    for attribute, value in changes.items():
        setattr(representative, attribute, value)
    representative.save(update_fields=list(changes))
    audit.record(
        "registry.representative_updated", actor_id=by.pk, obj=representative, data=changes
    )
    return representative


def _organisation_for(
    *, by: User, scheme: str, identifier: str, name: str, name_field: str
) -> tuple[Organisation, bool]:
    """The organisation registered under this identifier, or a new one; and whether it is new.

    An organisation already registered under the identifier must bear the same name
    (compared as ``registry.selectors.comparable_name`` does): a mistyped identifier
    must not file the new employer under somebody else's organisation.
    """
    from mandat.registry.selectors import comparable_name

    normalized = _normalized(scheme, identifier, field="identifier")
    existing = Organisation.objects.filter(identifier_scheme=scheme, identifier=normalized).first()
    if existing is None:
        try:
            with transaction.atomic():
                organisation = _organisation_create(
                    by=by, name=name, scheme=scheme, identifier=normalized, name_field=name_field
                )
            return organisation, True
        except (IntegrityError, ApplicationError) as error:
            # Registered at the same moment by another agent: use theirs, if it is the same.
            if isinstance(error, ApplicationError) and error.code != "organisation_exists":
                raise
            existing = Organisation.objects.get(identifier_scheme=scheme, identifier=normalized)
    if comparable_name(existing.name) != comparable_name(name):
        raise ApplicationError(
            _(
                "This identifier belongs to %(name)s, which is registered under another name. "
                "Check the identifier, or use the registered name."
            )
            % {"name": existing.name},
            code="organisation_other_name",
            field="identifier",
        )
    return existing, False


@dataclass(frozen=True)
class EmployerRegistration:
    employer: Employer
    organisation_created: bool


@transaction.atomic(durable=True)
def employer_register_with_organisation(
    *,
    by: User,
    scheme: str,
    identifier: str,
    institution: Institution,
    employer_number: str,
    name: str,
    address: Address,
    language: str = "fr",
) -> EmployerRegistration:
    """Register an employer, and its organisation too when no organisation has that identifier.

    One transaction: a refused employer leaves no organisation behind.
    """
    _require_agent(by)
    organisation, created = _organisation_for(
        by=by, scheme=scheme, identifier=identifier, name=name, name_field="name"
    )
    employer = _employer_register(
        by=by,
        organisation=organisation,
        institution=institution,
        employer_number=employer_number,
        name=name,
        address=address,
        language=language,
    )
    return EmployerRegistration(employer=employer, organisation_created=created)


@dataclass(frozen=True)
class RepresentativeRegistration:
    representative: Representative
    organisation_created: bool


@transaction.atomic(durable=True)
def representative_register_with_organisation(
    *,
    by: User,
    scheme: str,
    identifier: str,
    registration_number: str,
    denomination: str,
    address: Address,
) -> RepresentativeRegistration:
    """Register a representative, and its organisation too when it is not registered yet."""
    _require_agent(by)
    organisation, created = _organisation_for(
        by=by,
        scheme=scheme,
        identifier=identifier,
        name=denomination,
        name_field="denomination",
    )
    representative = _representative_register(
        by=by,
        organisation=organisation,
        registration_number=registration_number,
        denomination=denomination,
        address=address,
    )
    return RepresentativeRegistration(representative=representative, organisation_created=created)
