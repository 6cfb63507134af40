from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db.models import Max
from django.utils import translation

from mandat.accounts.models import User
from mandat.core import time
from mandat.core.errors import NotFoundOrForbidden
from mandat.spaces import selectors, services
from mandat.spaces.models import Space, SpaceKind
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> User:
    return factories.user()


@pytest.fixture
def space(owner: User) -> Space:
    return factories.space_of(factories.organisation("Garage Muller"), admin=owner)


def _refusal(call: Callable[[], object]) -> NotFoundOrForbidden:
    with pytest.raises(NotFoundOrForbidden) as caught:
        call()
    return caught.value


def test_a_member_opens_their_space(space: Space, owner: User) -> None:
    assert selectors.access_space(user=owner, space_id=space.pk) == space


def test_a_missing_and_a_forbidden_space_get_one_and_the_same_refusal(space: Space) -> None:
    stranger = factories.user()
    missing_id = (Space.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    forbidden = _refusal(lambda: selectors.access_space(user=stranger, space_id=space.pk))
    missing = _refusal(lambda: selectors.access_space(user=stranger, space_id=missing_id))
    assert forbidden.code == missing.code == "not_found"
    for language in ("fr", "de", "en"):
        with translation.override(language):
            assert str(forbidden) == str(missing)


def test_a_removed_member_can_no_longer_open_the_space(space: Space, owner: User) -> None:
    clerk = factories.user()
    membership = services.member_add(by=owner, space=space, user=clerk)
    services.member_remove(by=owner, membership=membership)
    assert _refusal(lambda: selectors.access_space(user=clerk, space_id=space.pk)).code == (
        "not_found"
    )


def test_a_closed_space_cannot_be_opened(space: Space, owner: User) -> None:
    Space.objects.filter(pk=space.pk).update(closed_at=time.now())
    assert _refusal(lambda: selectors.access_space(user=owner, space_id=space.pk)).code == (
        "not_found"
    )
    assert not selectors.spaces_of_user(user=owner).exists()


def test_a_user_sees_exactly_the_spaces_they_belong_to(space: Space, owner: User) -> None:
    private = services.space_create(by=owner, kind=SpaceKind.PRIVATE)
    factories.space_of(factories.organisation("Someone Else"))
    assert set(selectors.spaces_of_user(user=owner)) == {space, private}


def test_members_of_a_space_are_its_active_members(space: Space, owner: User) -> None:
    stays, leaves = factories.user(), factories.user()
    services.member_add(by=owner, space=space, user=stays)
    services.member_remove(
        by=owner, membership=services.member_add(by=owner, space=space, user=leaves)
    )
    assert {m.user_id for m in selectors.members_of_space(space=space)} == {owner.pk, stays.pk}


@pytest.mark.django_db
def test_a_switched_off_account_loses_its_administrator_powers_at_once() -> None:
    boss = factories.user()
    space = factories.space_of(factories.organisation(), admin=boss)
    assert selectors.is_admin(user=boss, space=space)
    User.objects.filter(pk=boss.pk).update(is_active=False)
    assert not selectors.is_admin(user=boss, space=space)
