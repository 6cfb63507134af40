"""Membership changes of one space racing, each on its own connection (PostgreSQL only).

These tests commit for real (``transaction=True``); see
``tests/certification/test_concurrency.py`` for how the database is emptied afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from django.db import connection

from mandat.core import audit
from mandat.core.errors import ApplicationError
from mandat.spaces import selectors, services
from mandat.spaces.models import Membership, Role, Space
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

#: Rounds per test: one lost race is enough to leave a space without an administrator.
ROUNDS = 10


def _together(*attempts: Callable[[], object]) -> list[object]:
    """Run the attempts in threads released at once; each outcome or exception."""
    start = threading.Barrier(len(attempts))

    def one(attempt: Callable[[], object]) -> object:
        try:
            start.wait(timeout=30)
            return attempt()
        except BaseException as error:  # noqa: BLE001 - every outcome is reported
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(one, attempts))


def _two_admins() -> tuple[Space, Membership, Membership]:
    first, second = factories.user(), factories.user()
    space = factories.space_of(factories.organisation(), admin=first)
    services.member_add(by=first, space=space, user=second, role=Role.ADMIN)
    return (
        space,
        Membership.objects.get(space=space, user=first),
        Membership.objects.get(space=space, user=second),
    )


def _refusals(outcomes: list[object]) -> list[str]:
    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, ApplicationError)
    ]
    assert unexpected == [], f"server errors: {unexpected!r}"
    return sorted(o.code for o in outcomes if isinstance(o, ApplicationError))


def test_two_admins_removing_each_other_at_once_leave_one_admin() -> None:
    assert connection.vendor == "postgresql"
    for _ in range(ROUNDS):
        space, first, second = _two_admins()
        outcomes = _together(
            partial(services.member_remove, by=first.user, membership=second),
            partial(services.member_remove, by=second.user, membership=first),
        )
        # The loser is no longer an administrator when its turn comes.
        assert _refusals(outcomes) == ["space_admin_required"]
        assert selectors.admins_of_space(space=space).count() == 1
    assert audit.verify().ok


def test_two_admins_leaving_at_once_leave_one_admin() -> None:
    assert connection.vendor == "postgresql"
    for _ in range(ROUNDS):
        space, first, second = _two_admins()
        outcomes = _together(
            partial(services.member_leave, by=first.user, space=space),
            partial(services.member_leave, by=second.user, space=space),
        )
        assert _refusals(outcomes) == ["last_admin"]
        assert selectors.admins_of_space(space=space).count() == 1
    assert audit.verify().ok


def test_two_admins_adding_the_same_person_at_once_add_them_once() -> None:
    assert connection.vendor == "postgresql"
    for _ in range(ROUNDS):
        space, first, second = _two_admins()
        newcomer = factories.user()
        outcomes = _together(
            partial(services.member_add, by=first.user, space=space, user=newcomer),
            partial(services.member_add, by=second.user, space=space, user=newcomer),
        )
        assert _refusals(outcomes) == ["member_exists"]
        assert Membership.objects.filter(space=space, user=newcomer).count() == 1
