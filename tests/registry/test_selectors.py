from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from mandat.core.errors import ApplicationError
from mandat.registry import selectors, services
from mandat.registry.models import Employer, Representative
from tests import factories

NAME_CHARACTERS = st.sampled_from("abcdefghijklmnopqrstuvwxyzàâäçéèêëîïôöùûüœæ .-'&")


def _refusal(call: Callable[[], object]) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value


@pytest.fixture
def boulangerie(db: None) -> Employer:
    return factories.employer("Boulangerie Demo S.à r.l.")


@pytest.fixture
def salary(db: None) -> Representative:
    return factories.representative("Salary S.A.")


@pytest.mark.parametrize(
    "typed",
    [
        "Boulangerie Demo S.à r.l.",
        "BOULANGERIE DEMO S.À R.L.",
        "boulangerie demo s.a r.l.",
        "  Boulangerie   Demo  S.à  r.l. ",
        "Boulangerie Demo S. à r. l.",
        "Boulangerie Demo S.\u0061\u0300 r.l.",  # "à" typed as a + combining grave
        "BoulangerieDemo Sàrl",
    ],
)
def test_an_employer_matches_its_name_whatever_the_case_accents_or_spacing(
    boulangerie: Employer, typed: str
) -> None:
    found = selectors.employer_match(
        institution=factories.ccss(), employer_number=boulangerie.employer_number, name=typed
    )
    assert found.pk == boulangerie.pk


def test_an_employer_number_matches_with_spaces(boulangerie: Employer) -> None:
    number = boulangerie.employer_number
    found = selectors.employer_match(
        institution=factories.ccss(),
        employer_number=f"{number[:4]} {number[4:]}",
        name=boulangerie.name,
    )
    assert found.pk == boulangerie.pk


def test_an_unknown_and_a_mismatching_employer_get_one_and_the_same_refusal(
    boulangerie: Employer,
) -> None:
    ccss = factories.ccss()
    refusals = [
        _refusal(  # unknown number, right name
            lambda: selectors.employer_match(
                institution=ccss, employer_number="29999999999", name=boulangerie.name
            )
        ),
        _refusal(  # known number, wrong name
            lambda: selectors.employer_match(
                institution=ccss,
                employer_number=boulangerie.employer_number,
                name="Boulangerie Démo Bis S.à r.l.",
            )
        ),
        _refusal(  # malformed number
            lambda: selectors.employer_match(
                institution=ccss, employer_number="2019", name=boulangerie.name
            )
        ),
        _refusal(  # registered with another institution only
            lambda: selectors.employer_match(
                institution=factories.institution(),
                employer_number=boulangerie.employer_number,
                name=boulangerie.name,
            )
        ),
    ]
    assert {refusal.code for refusal in refusals} == {"employer_no_match"}
    for language in ("fr", "de", "en"):
        with translation.override(language):
            assert len({str(refusal) for refusal in refusals}) == 1


def test_a_representative_matches_the_seed_example(db: None) -> None:
    firm = factories.organisation("Salary S.A.")
    salary = services.representative_register(
        by=factories.agent(),
        organisation=firm,
        registration_number="2020220124699",
        denomination="Salary S.A.",
        address=factories.ADDRESS,
    )
    found = selectors.representative_match(registration_number="2020220124699", name="salary sa")
    assert found.pk == salary.pk


def test_an_unknown_and_a_mismatching_representative_get_one_and_the_same_refusal(
    salary: Representative,
) -> None:
    refusals = [
        _refusal(
            lambda: selectors.representative_match(
                registration_number="2999999999999", name=salary.denomination
            )
        ),
        _refusal(
            lambda: selectors.representative_match(
                registration_number=salary.registration_number, name="Salary Group S.A."
            )
        ),
        _refusal(
            lambda: selectors.representative_match(
                registration_number="2020", name=salary.denomination
            )
        ),
    ]
    assert {refusal.code for refusal in refusals} == {"representative_no_match"}
    for language in ("fr", "de", "en"):
        with translation.override(language):
            assert len({str(refusal) for refusal in refusals}) == 1


def test_a_representative_is_not_matched_by_an_employer_number(
    boulangerie: Employer, salary: Representative
) -> None:
    with pytest.raises(ApplicationError) as caught:
        selectors.representative_match(
            registration_number=boulangerie.employer_number, name=boulangerie.name
        )
    assert caught.value.code == "representative_no_match"


def test_a_search_finds_employers_by_name_or_number_prefix_in_name_order(db: None) -> None:
    garage = factories.employer("Garage Muller")
    atelier = factories.employer("Atelier du Garage")
    factories.employer("Pharmacie Klein")
    by_name = selectors.employers_search(text="garage")
    assert [e.pk for e in by_name] == [atelier.pk, garage.pk]
    by_number = selectors.employers_search(text=garage.employer_number[:-1])
    assert garage.pk in {e.pk for e in by_number}
    assert atelier.pk not in {e.pk for e in selectors.employers_search(text=garage.employer_number)}


def test_a_search_keeps_to_one_institution(db: None) -> None:
    ccss_employer = factories.employer("Garage Muller")
    other = factories.institution()
    elsewhere = services.employer_register(
        by=factories.agent(),
        organisation=ccss_employer.organisation,
        institution=other,
        employer_number=ccss_employer.employer_number,
        name="Garage Muller",
        address=factories.ADDRESS,
    )
    assert [e.pk for e in selectors.employers_search(text="Muller", institution=other)] == [
        elsewhere.pk
    ]
    assert {e.pk for e in selectors.employers_search(text="Muller")} == {
        ccss_employer.pk,
        elsewhere.pk,
    }


@given(st.text(alphabet=NAME_CHARACTERS, min_size=1, max_size=40))
def test_a_name_compares_equal_to_its_upper_case_unaccented_respaced_forms(name: str) -> None:
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    )
    respaced = "  ".join(name.split(" "))
    reference = selectors.comparable_name(name)
    assert selectors.comparable_name(name.upper()) == reference
    assert selectors.comparable_name(stripped) == reference
    assert selectors.comparable_name(f" {respaced} ") == reference
    assert selectors.comparable_name(name.replace(" ", "")) == reference


@given(
    st.text(alphabet=NAME_CHARACTERS, max_size=20),
    st.sampled_from("bcdfghjkmnpqrstvwxz"),
    st.text(alphabet=NAME_CHARACTERS, max_size=20),
)
def test_names_that_differ_by_a_letter_do_not_compare_equal(
    before: str, letter: str, after: str
) -> None:
    assert selectors.comparable_name(f"{before} {after}") != selectors.comparable_name(
        f"{before} {letter}{after}"
    )
