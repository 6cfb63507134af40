"""Acting as the space (API clients): ``space_can`` and its mirrors equal ``can`` for an
unrestricted administrator of that space, over random mandate histories."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import DEFAULT_DB_ALIAS, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mandat.catalog.models import Level
from mandat.core import time
from mandat.mandates import policies
from mandat.mandates import services as mandate_services
from mandat.mandates.models import Mandate, MandateStatus
from mandat.registry.models import Employer
from mandat.spaces.models import Membership, Role, Space
from tests import factories

pytestmark = pytest.mark.django_db

DOMAINS = ("AFFILIATIONS", "BILLING")
NOW = time.now()


class World:
    def __init__(self) -> None:
        self.firm = factories.space_of(factories.representative("Firm").organisation)
        self.admin = factories.user()
        Membership.objects.create(space=self.firm, user=self.admin, role=Role.ADMIN)
        self.employers = [factories.employer() for _ in range(3)]
        self.domains = {code: factories.domain(code) for code in DOMAINS}


@pytest.fixture
def world() -> World:
    return World()


mandate_spec = st.tuples(
    st.integers(0, 2),  # employer
    st.sampled_from(DOMAINS),
    st.sampled_from(Level.values),
    st.sampled_from(["active", "pending", "revoked", "future", "past"]),
)


def _make(world: World, spec: tuple[int, str, str, str]) -> None:
    index, code, level, state = spec
    employer: Employer = world.employers[index]
    domain = world.domains[code]
    if Mandate.objects.filter(
        grantee_space=world.firm, employer=employer, domain=domain, status=MandateStatus.ACTIVE
    ).exists():
        return
    extra: dict[str, object] = {}
    if state == "future":
        extra["valid_from"] = NOW + dt.timedelta(days=1)
    if state == "past":
        extra["valid_from"] = NOW - dt.timedelta(days=2)
        extra["valid_until"] = NOW - dt.timedelta(days=1)
    mandate = factories.mandate(
        employer_=employer,
        space=world.firm,
        domain_code=code,
        level=level,
        activate=state != "pending",
        **extra,
    )
    if state == "revoked":
        mandate_services.mandate_revoke(by=factories.agent(), mandate=mandate)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(mandate_spec, max_size=6), closed=st.booleans())
def test_space_can_equals_can_for_an_unrestricted_admin(
    world: World, specs: list[tuple[int, str, str, str]], closed: bool
) -> None:
    with _rolled_back():
        for spec in specs:
            _make(world, spec)
        if closed:
            Space.objects.filter(pk=world.firm.pk).update(closed_at=NOW)
        for employer in world.employers:
            for code, domain in world.domains.items():
                for action in Level.values:
                    expected = policies.can(world.admin, action, employer, domain)
                    assert policies.space_can(world.firm.pk, action, employer, domain) == expected
                    found = policies.space_check(
                        world.firm.pk, action, employer.employer_number, code
                    )
                    assert (found is not None) == expected
        for code, domain in world.domains.items():
            for action in Level.values:
                mine = policies.employers_for(world.admin, domain, action, limit=2)
                theirs = policies.employers_for_space(world.firm.pk, domain, action, limit=2)
                assert mine == theirs
                # The API's client list pages the same employers, with the mandate that allows.
                rows = policies.client_rows_for_space(world.firm.pk, domain, action, limit=2)
                assert [row.employer_id for row in rows.rows] == theirs.employer_ids
                assert rows.next_after == theirs.next_after
                for row in rows.rows:
                    assert row.mandate_id == policies.space_check(
                        world.firm.pk, action, row.employer_number, code
                    )
                everyone = list(policies.iter_employers_for(world.admin, domain, action))
                many = policies.space_mandates_for(
                    world.firm.pk, [e.employer_number for e in world.employers], [code]
                )
                allowed = {
                    e.pk
                    for e in world.employers
                    if (e.employer_number, code) in many
                    and many[(e.employer_number, code)].level in Level.covering(action)
                }
                assert allowed == set(everyone)


@contextmanager
def _rolled_back() -> Iterator[None]:
    """A savepoint rolled back after each example, marked like the test case's own block so
    the durable services may run in it (as in ``test_policy_oracle.rolled_back``)."""
    block = transaction.Atomic(DEFAULT_DB_ALIAS, savepoint=True, durable=False)
    block._from_testcase = True  # type: ignore[attr-defined]
    with block:
        try:
            yield
        finally:
            transaction.set_rollback(True)


def test_changed_since_keeps_mandates_activated_since(world: World) -> None:
    first = factories.mandate(employer_=world.employers[0], space=world.firm)
    assert first.activated_at is not None
    domain = world.domains["AFFILIATIONS"]
    before = policies.employers_for_space(
        world.firm.pk, domain, "consult", changed_since=first.activated_at - dt.timedelta(1)
    )
    after = policies.employers_for_space(
        world.firm.pk, domain, "consult", changed_since=first.activated_at + dt.timedelta(1)
    )
    assert before.employer_ids == [world.employers[0].pk]
    assert after.employer_ids == []
    rows = policies.client_rows_for_space(
        world.firm.pk, domain, "consult", changed_since=first.activated_at - dt.timedelta(1)
    )
    assert [(r.mandate_id, r.since) for r in rows.rows] == [(first.pk, first.activated_at)]
    assert (
        policies.client_rows_for_space(
            world.firm.pk, domain, "consult", changed_since=first.activated_at + dt.timedelta(1)
        ).rows
        == []
    )
