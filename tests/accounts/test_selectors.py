"""Finding a person by e-mail address or national identifier, and the identifier's rules."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st

from mandat.accounts.models import User
from mandat.accounts.selectors import active_user_by_contact, normalize_national_id
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from tests import factories

NATIONAL_ID = "1985031212345"


@pytest.mark.parametrize(
    "typed", ["1985031212345", " 1985 0312 123 45 ", "1985.0312.123.45", "1985-0312-12345"]
)
def test_a_national_id_is_stored_as_its_13_digits(typed: str) -> None:
    assert normalize_national_id(typed) == NATIONAL_ID


@pytest.mark.parametrize("typed", ["", "12345", "19850312123456", "1985031212a45", "١٩٨٥٠٣١٢١٢٣٤٥"])
def test_anything_but_13_digits_is_refused(typed: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        normalize_national_id(typed)
    assert caught.value.code == "national_id_invalid"
    assert caught.value.field == "national_id"


@given(st.text(max_size=30))
def test_normalizing_gives_13_ascii_digits_or_refuses(typed: str) -> None:
    try:
        digits = normalize_national_id(typed)
    except ApplicationError:
        return
    assert len(digits) == 13 and digits.isascii() and digits.isdigit()
    assert normalize_national_id(digits) == digits


@pytest.mark.django_db
def test_a_national_id_names_one_person_but_many_have_none() -> None:
    factories.user("first", national_id=NATIONAL_ID)
    factories.user("nobody1")
    factories.user("nobody2")  # two empty identifiers do not clash
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.user("second", national_id=NATIONAL_ID)


@pytest.mark.django_db
def test_a_person_is_found_by_e_mail_in_any_case_or_by_national_id() -> None:
    person = factories.user("anna", national_id=NATIONAL_ID)
    assert active_user_by_contact(email="ANNA@example.test") == person
    assert active_user_by_contact(national_id="1985 0312 123 45") == person


@pytest.mark.django_db
@pytest.mark.parametrize("contact", [{"email": "x@example.test"}, {"national_id": NATIONAL_ID}])
def test_an_unknown_person_and_an_inactive_account_get_the_same_error(
    contact: dict[str, str],
) -> None:
    with pytest.raises(NotFoundOrForbidden) as unknown:
        active_user_by_contact(**contact)
    factories.user("x", national_id=NATIONAL_ID, is_active=False)
    with pytest.raises(NotFoundOrForbidden) as inactive:
        active_user_by_contact(**contact)
    assert unknown.value.code == inactive.value.code == "person_unknown"
    assert str(unknown.value) == str(inactive.value)
    assert User.objects.filter(username="x", is_active=False).exists()


@pytest.mark.django_db
def test_an_address_two_active_accounts_share_in_different_cases_names_nobody() -> None:
    factories.user("anna")
    factories.user("anna-bis")
    User.objects.filter(username="anna").update(email="Anna@example.test")
    User.objects.filter(username="anna-bis").update(email="anna@EXAMPLE.test")
    with pytest.raises(NotFoundOrForbidden) as ambiguous:
        active_user_by_contact(email="anna@example.test")
    assert ambiguous.value.code == "person_unknown"
    # A switched-off namesake does not make the address ambiguous.
    User.objects.filter(username="anna-bis").update(is_active=False)
    assert active_user_by_contact(email="ANNA@example.test").username == "anna"
