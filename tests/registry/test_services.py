from __future__ import annotations

import pytest
from django.utils import translation

from mandat.core.errors import ApplicationError
from mandat.registry import services
from mandat.registry.identifiers import Scheme
from mandat.registry.models import Employer, Organisation, Representative
from tests import factories

pytestmark = pytest.mark.django_db

ADDRESS = services.Address("3, place d'Armes", "1136", "Luxembourg")


def test_an_agent_creates_an_organisation_under_its_canonical_identifier() -> None:
    agent = factories.agent()
    seq = factories.audit_seq()
    organisation = services.organisation_create(
        by=agent,
        name="  Brasserie   Nationale ",
        scheme=Scheme.BE_ENTERPRISE,
        identifier="BE 0403.019.261",
    )
    assert organisation.identifier == "0403019261"
    assert organisation.name == "Brasserie Nationale"
    [event] = factories.audit_events_since(seq)
    assert event.action == "registry.organisation_created"
    assert event.actor_id == agent.pk
    assert event.object_id == str(organisation.pk)
    assert event.data["identifier"] == "0403019261"


def test_only_an_agent_creates_an_organisation() -> None:
    with factories.refused("agent_required", Organisation):
        services.organisation_create(
            by=factories.user(), name="Nope", scheme=Scheme.LU_NATIONAL, identifier="20000000999"
        )


def test_an_inactive_agent_creates_nothing() -> None:
    retired = factories.user(agent=True, is_active=False)
    with factories.refused("agent_required", Organisation):
        services.organisation_create(
            by=retired, name="Nope", scheme=Scheme.LU_NATIONAL, identifier="20000000999"
        )


def test_an_organisation_with_an_invalid_identifier_is_refused() -> None:
    with factories.refused("identifier_invalid", Organisation):
        services.organisation_create(
            by=factories.agent(), name="Nope", scheme=Scheme.BE_ENTERPRISE, identifier="0403019262"
        )


def test_an_organisation_without_a_name_is_refused() -> None:
    with factories.refused("name_required", Organisation):
        services.organisation_create(
            by=factories.agent(), name="   ", scheme=Scheme.LU_NATIONAL, identifier="20000000999"
        )


def test_the_same_identifier_is_registered_once_whatever_its_spelling() -> None:
    services.organisation_create(
        by=factories.agent(), name="First", scheme=Scheme.LU_NATIONAL, identifier="20000000999"
    )
    with factories.refused("organisation_exists", Organisation):
        services.organisation_create(
            by=factories.agent(),
            name="Second",
            scheme=Scheme.LU_NATIONAL,
            identifier="2000 000 0999",
        )


def test_an_agent_registers_an_employer_and_the_event_is_filed_under_it() -> None:
    organisation = factories.organisation("Garage Weber S.à r.l.")
    seq = factories.audit_seq()
    employer = services.employer_register(
        by=factories.agent(),
        organisation=organisation,
        institution=factories.ccss(),
        employer_number=f" {organisation.identifier[:4]} {organisation.identifier[4:]} ",
        name="Garage Weber S.à r.l.",
        address=ADDRESS,
        language="de",
    )
    employer.refresh_from_db()
    assert employer.employer_number == organisation.identifier
    assert (employer.city, employer.language) == ("Luxembourg", "de")
    [event] = factories.audit_events_since(seq)
    assert event.action == "registry.employer_registered"
    assert event.employer_id == employer.pk


def test_only_an_agent_registers_an_employer() -> None:
    organisation = factories.organisation()
    with factories.refused("agent_required", Employer):
        services.employer_register(
            by=factories.user(),
            organisation=organisation,
            institution=factories.ccss(),
            employer_number=organisation.identifier,
            name="Nope",
            address=ADDRESS,
        )


def test_an_employer_number_of_the_wrong_shape_is_refused() -> None:
    organisation = factories.organisation()
    with factories.refused("identifier_invalid", Employer):
        services.employer_register(
            by=factories.agent(),
            organisation=organisation,
            institution=factories.ccss(),
            employer_number="12345",
            name="Nope",
            address=ADDRESS,
        )


def test_an_employer_number_is_registered_once_per_institution() -> None:
    first = factories.employer()
    organisation = factories.organisation()
    with factories.refused("employer_exists", Employer):
        services.employer_register(
            by=factories.agent(),
            organisation=organisation,
            institution=factories.ccss(),
            employer_number=first.employer_number,
            name="Copycat",
            address=ADDRESS,
        )


def test_the_same_employer_number_may_exist_with_another_institution() -> None:
    first = factories.employer()
    other = services.employer_register(
        by=factories.agent(),
        organisation=first.organisation,
        institution=factories.institution(),
        employer_number=first.employer_number,
        name=first.name,
        address=ADDRESS,
    )
    assert other.pk != first.pk


def test_an_agent_corrects_an_employer_but_never_its_number() -> None:
    employer = factories.employer("Old Name")
    number = employer.employer_number
    seq = factories.audit_seq()
    services.employer_update(
        by=factories.agent(), employer=employer, name=" New  Name ", address=ADDRESS, language="en"
    )
    employer.refresh_from_db()
    assert (employer.name, employer.address_line1, employer.language) == (
        "New Name",
        "3, place d'Armes",
        "en",
    )
    assert employer.employer_number == number
    [event] = factories.audit_events_since(seq)
    assert event.action == "registry.employer_updated"
    assert event.employer_id == employer.pk
    assert event.data["name"] == "New Name"


def test_only_an_agent_corrects_an_employer() -> None:
    employer = factories.employer("Kept Name")
    with factories.refused("agent_required"):
        services.employer_update(by=factories.user(), employer=employer, name="Changed")
    employer.refresh_from_db()
    assert employer.name == "Kept Name"


def test_an_employer_name_cannot_be_blanked() -> None:
    employer = factories.employer("Kept Name")
    with factories.refused("name_required"):
        services.employer_update(by=factories.agent(), employer=employer, name=" ")
    employer.refresh_from_db()
    assert employer.name == "Kept Name"


def test_an_agent_registers_a_representative() -> None:
    organisation = factories.organisation("Salary S.A.")
    seq = factories.audit_seq()
    representative = services.representative_register(
        by=factories.agent(),
        organisation=organisation,
        registration_number="2020 220124699",
        denomination="Salary  S.A.",
        address=ADDRESS,
    )
    representative.refresh_from_db()
    assert representative.registration_number == "2020220124699"
    assert representative.denomination == "Salary S.A."
    [event] = factories.audit_events_since(seq)
    assert event.action == "registry.representative_registered"
    assert event.object_id == str(representative.pk)


def test_only_an_agent_registers_a_representative() -> None:
    clerk = factories.user()
    organisation = factories.organisation()
    with factories.refused("agent_required", Representative):
        services.representative_register(
            by=clerk,
            organisation=organisation,
            registration_number="2020220124699",
            denomination="Nope",
            address=ADDRESS,
        )


def test_a_registration_number_of_the_wrong_shape_is_refused() -> None:
    organisation = factories.organisation()
    with factories.refused("identifier_invalid", Representative):
        services.representative_register(
            by=factories.agent(),
            organisation=organisation,
            registration_number="202022012469",
            denomination="Nope",
            address=ADDRESS,
        )


def test_a_registration_number_is_registered_once() -> None:
    first = factories.representative()
    organisation = factories.organisation()
    with factories.refused("representative_exists", Representative):
        services.representative_register(
            by=factories.agent(),
            organisation=organisation,
            registration_number=first.registration_number,
            denomination="Copycat",
            address=ADDRESS,
        )


def test_an_organisation_is_registered_as_representative_once() -> None:
    first = factories.representative()
    with factories.refused("representative_exists", Representative):
        services.representative_register(
            by=factories.agent(),
            organisation=first.organisation,
            registration_number="2099999999999",
            denomination="Second hat",
            address=ADDRESS,
        )


def test_an_agent_corrects_a_representative() -> None:
    representative = factories.representative("Old Firm")
    number = representative.registration_number
    seq = factories.audit_seq()
    services.representative_update(
        by=factories.agent(), representative=representative, denomination="New Firm"
    )
    representative.refresh_from_db()
    assert (representative.denomination, representative.registration_number) == ("New Firm", number)
    [event] = factories.audit_events_since(seq)
    assert event.action == "registry.representative_updated"
    assert event.data == {"denomination": "New Firm"}


def test_only_an_agent_corrects_a_representative() -> None:
    representative = factories.representative("Kept Firm")
    with factories.refused("agent_required"):
        services.representative_update(
            by=factories.user(), representative=representative, address=ADDRESS
        )
    representative.refresh_from_db()
    assert representative.address_line1 == factories.ADDRESS.address_line1


def test_a_refusal_is_an_application_error_with_a_readable_message() -> None:
    with pytest.raises(ApplicationError) as caught:
        services.organisation_create(
            by=factories.user(), name="Nope", scheme=Scheme.LU_NATIONAL, identifier="20000000999"
        )
    with translation.override("en"):
        assert str(caught.value) == "Only an institution agent may change the registry."


@pytest.mark.django_db
def test_names_lose_invisible_control_and_format_characters() -> None:
    organisation = services.organisation_create(
        by=factories.agent(),
        name="Bou\u00adlange\u200brie\x07  Demo",
        scheme=Scheme.LU_NATIONAL,
        identifier="20191234599",
    )
    assert organisation.name == "Boulangerie Demo"


def _register_employer(identifier: str, name: str) -> services.EmployerRegistration:
    return services.employer_register_with_organisation(
        by=factories.agent(),
        scheme=Scheme.LU_NATIONAL,
        identifier=identifier,
        institution=factories.ccss(),
        employer_number="19980000123",
        name=name,
        address=ADDRESS,
    )


def test_an_identifier_of_an_organisation_with_another_name_is_refused() -> None:
    services.organisation_create(
        by=factories.agent(),
        name="Holding Alpha",
        scheme=Scheme.LU_NATIONAL,
        identifier="20000000999",
    )
    with (
        translation.override("en"),
        factories.refused("organisation_other_name", Employer) as caught,
    ):
        _register_employer("2000 000 0999", "Boulangerie Beta S.à r.l.")
    assert caught.value.field == "identifier"
    assert "This identifier belongs to Holding Alpha" in str(caught.value)


def test_an_organisation_with_the_same_name_written_otherwise_is_reused() -> None:
    organisation = services.organisation_create(
        by=factories.agent(),
        name="BOULANGERIE BETA SARL",
        scheme=Scheme.LU_NATIONAL,
        identifier="20000000999",
    )
    registration = _register_employer("20000000999", "Boulangerie Beta S.à r.l.")
    assert registration.employer.organisation == organisation
    assert not registration.organisation_created


class _SeenLate:
    """``Organisation`` as the service sees it when another agent registers the same
    identifier between its look-ups: the first ``misses`` look-ups find nothing."""

    def __init__(self, misses: int) -> None:
        self.misses = misses
        self.objects = self

    def filter(self, **lookups: object) -> object:
        if self.misses:
            self.misses -= 1
            return Organisation.objects.none()
        return Organisation.objects.filter(**lookups)

    def get(self, **lookups: object) -> Organisation:
        return Organisation.objects.get(**lookups)

    def create(self, **fields: object) -> Organisation:
        return Organisation.objects.create(**fields)


# One miss: the creation's own check sees the other one; two: the unique constraint does.
@pytest.mark.parametrize("misses", [1, 2])
@pytest.mark.parametrize("same_name", [True, False])
def test_an_organisation_registered_at_the_same_moment_is_read_again(
    monkeypatch: pytest.MonkeyPatch, misses: int, same_name: bool
) -> None:
    other = Organisation.objects.create(
        name="Boulangerie Beta" if same_name else "Holding Alpha",
        identifier_scheme=Scheme.LU_NATIONAL,
        identifier="20000000999",
    )
    monkeypatch.setattr(services, "Organisation", _SeenLate(misses))
    if same_name:
        registration = _register_employer("20000000999", "Boulangerie Beta")
        assert not registration.organisation_created
        assert registration.employer.organisation == other
    else:
        with factories.refused("organisation_other_name", Employer):
            _register_employer("20000000999", "Boulangerie Beta")
    assert Organisation.objects.filter(identifier="20000000999").count() == 1
