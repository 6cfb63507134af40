from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mandat.core.errors import ApplicationError
from mandat.registry.identifiers import Scheme, normalize


def _be_number(base: int) -> str:
    """A Belgian enterprise number: 8 digits and their mod-97 complement."""
    return f"{base:08d}{97 - base % 97:02d}"


def test_the_seed_example_registration_number_is_accepted() -> None:
    assert normalize(Scheme.LU_NATIONAL, "2020220124699") == "2020220124699"


@pytest.mark.parametrize("typed", ["2020 2201 24699", " 20202201 24699 ", "2020\t220124699"])
def test_a_luxembourg_number_loses_its_spacing(typed: str) -> None:
    assert normalize(Scheme.LU_NATIONAL, typed) == "2020220124699"


@pytest.mark.parametrize(
    "typed",
    ["", "2020220124", "202022012469", "20202201246990", "2020-220124699", "2O20220124699"],
)
def test_a_luxembourg_number_of_another_shape_is_refused(typed: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        normalize(Scheme.LU_NATIONAL, typed)
    assert caught.value.code == "identifier_invalid"


@pytest.mark.parametrize("typed", ["٢٠٢٠٢٢٠١٢٤٦٩٩", "²⁰²⁰²²⁰¹²⁴⁶⁹⁹", "２０２０２２０１２４６９９"])
def test_a_luxembourg_number_in_non_latin_digits_is_refused(typed: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        normalize(Scheme.LU_NATIONAL, typed)
    assert caught.value.code == "identifier_invalid"


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_a_luxembourg_number_is_accepted_exactly_when_it_has_11_or_13_digits(digits: str) -> None:
    if len(digits) in (11, 13):
        assert normalize(Scheme.LU_NATIONAL, digits) == digits
    else:
        with pytest.raises(ApplicationError):
            normalize(Scheme.LU_NATIONAL, digits)


_DIGIT_LIKE = st.one_of(
    st.sampled_from("0123456789 "), st.characters(categories=["Nd", "No", "Zs"])
)


@given(st.text(alphabet=_DIGIT_LIKE, min_size=11, max_size=15))
def test_whatever_a_luxembourg_number_normalizes_to_is_11_or_13_ascii_digits(typed: str) -> None:
    try:
        normal = normalize(Scheme.LU_NATIONAL, typed)
    except ApplicationError as error:
        assert error.code == "identifier_invalid"
    else:
        assert len(normal) in (11, 13)
        assert all(c in "0123456789" for c in normal)


@pytest.mark.parametrize("typed", ["0403019261", "BE0403019261", "BE 0403.019.261", "403019261"])
def test_a_belgian_enterprise_number_takes_its_canonical_form(typed: str) -> None:
    assert normalize(Scheme.BE_ENTERPRISE, typed) == "0403019261"


@given(st.integers(min_value=1, max_value=19_999_999))
def test_a_belgian_enterprise_number_with_its_mod_97_check_is_accepted(base: int) -> None:
    number = _be_number(base)
    assert normalize(Scheme.BE_ENTERPRISE, f"BE {number[:4]}.{number[4:7]}.{number[7:]}") == number


@given(st.integers(min_value=1, max_value=19_999_999), st.integers(min_value=1, max_value=96))
def test_a_belgian_enterprise_number_with_a_wrong_check_is_refused(base: int, shift: int) -> None:
    right = 97 - base % 97
    wrong = (right + shift - 1) % 97 + 1  # in 1..97, never the right one
    with pytest.raises(ApplicationError) as caught:
        normalize(Scheme.BE_ENTERPRISE, f"{base:08d}{wrong:02d}")
    assert caught.value.code == "identifier_invalid"


@pytest.mark.parametrize("typed", ["", "0403019262", "04030192", "BE04030192611", "abcdefghij"])
def test_a_malformed_belgian_enterprise_number_is_refused(typed: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        normalize(Scheme.BE_ENTERPRISE, typed)
    assert caught.value.code == "identifier_invalid"


def test_an_unknown_scheme_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown identifier scheme"):
        normalize("fr_siren", "123456789")
