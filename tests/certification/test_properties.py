"""No code is accepted for a domain, kind or space it was not issued for.

One request is issued per test (issuing renders real letters, so it is done
once); every generated attempt then runs against those codes, and an accepted
attempt is undone so the next one finds the code unused.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from mandat.accounts.models import User
from mandat.certification import redemption
from mandat.certification.models import AccessCode, CertificationRequest, CodeKind, RequestStatus
from mandat.core import codes
from mandat.core.codes import ALPHABET, CodeTypo
from mandat.core.errors import ApplicationError
from mandat.mandates.models import Mandate
from mandat.spaces.models import Space
from tests import factories
from tests.factories import SECURITY_CODE, CertificationWorld

pytestmark = pytest.mark.django_db

DOMAINS = ["EMPLOYER", "AFFILIATIONS", "REMUNERATIONS", "BILLING"]
KINDS = [CodeKind.HOLDER, CodeKind.REPRESENTATIVE]
SPACES = ["own", "salary", "other_firm", "other_employer"]


@pytest.fixture(autouse=True)
def _seal_in_tmp(settings: Settings, tmp_path: Path) -> None:
    """Signing makes a development seal in DATA_DIR: keep it out of the checkout."""
    settings.DATA_DIR = tmp_path
    settings.SEAL_KEY_FILE = settings.SEAL_CERT_FILE = ""
    # Hundreds of attempts by one account: the guessing throttle (tests/security) would
    # make it wait; these tests are about which code is accepted where.
    settings.MANDAT_THROTTLE_ENABLED = False


@dataclass(frozen=True)
class Issued:
    request: CertificationRequest
    printed: dict[tuple[str, str], str]
    spaces: dict[str, tuple[Space, User]]

    def owner(self, kind: str) -> str:
        """The space a code of ``kind`` was issued for."""
        return {CodeKind.HOLDER: "own", CodeKind.REPRESENTATIVE: "salary"}.get(kind, "")

    def attempt(self, text: str, *, domain: str, kind: str, space: str) -> Mandate | None:
        """Redeem with the right security code: the mandate, or None when refused.

        An accepted code is put back unused, and its mandate removed, so that
        every attempt starts from the same state.
        """
        where, by = self.spaces[space]
        try:
            mandate = redemption.code_redeem(
                by=by,
                space=where,
                domain=factories.domain(domain),
                kind=kind,
                code=text,
                security_code=SECURITY_CODE,
            )
        except ApplicationError:
            return None
        AccessCode.objects.filter(mandate=mandate).update(used_at=None, used_by=None, mandate=None)
        Mandate.objects.filter(pk=mandate.pk).delete()
        CertificationRequest.objects.filter(pk=self.request.pk).update(
            status=RequestStatus.ISSUED, closed_at=None
        )
        return mandate


@pytest.fixture
def issued() -> Issued:
    world: CertificationWorld = factories.certification_world()
    neighbour = factories.certification_world("Autre Employeur S.A.")
    firm = factories.representative("Fiduciaire Nord S.A.")
    firm_admin = factories.user()
    request = factories.request_issued_for(world)
    printed = factories.request_codes(request)
    assert len(printed) == 11
    return Issued(
        request=request,
        printed=printed,
        spaces={
            "own": (world.space, world.boss),
            "salary": (world.salary_space, world.salary_admin),
            "other_firm": (factories.space_of(firm.organisation, admin=firm_admin), firm_admin),
            "other_employer": (neighbour.space, neighbour.boss),
        },
    )


def _nothing_changed() -> None:
    assert not Mandate.objects.exists()
    assert not AccessCode.objects.filter(used_at__isnull=False).exists()
    assert set(AccessCode.objects.values_list("failed_attempts", flat=True)) == {0}


def test_every_issued_code_works_only_where_it_was_issued_for(issued: Issued) -> None:
    """Every combination, exhaustively: 11 codes, 4 domains, 2 kinds, 4 spaces."""
    accepted = set()
    for (code_domain, code_kind), text in issued.printed.items():
        for domain, kind, space in itertools.product(DOMAINS, KINDS, SPACES):
            if issued.attempt(text, domain=domain, kind=kind, space=space) is not None:
                accepted.add((code_domain, code_kind, domain, kind, space))

    assert accepted == {
        (domain, kind, domain, kind, issued.owner(kind))
        for domain, kind in issued.printed
        if kind != CodeKind.REVOCATION
    }
    assert len(accepted) == 7
    _nothing_changed()


def _well_formed(values: list[int]) -> str | None:
    check = codes.check_value(values)
    if check >= len(ALPHABET):
        return None
    return "".join(ALPHABET[v] for v in [*values, check])


def _typed(canonical: str, style: int) -> str:
    """The same code as a person might type it."""
    return [
        codes.display(canonical),
        canonical,
        canonical.lower(),
        " ".join(codes.display(canonical).split("-")),
    ][style]


def test_no_code_is_accepted_for_a_domain_kind_or_space_it_was_not_issued_for(
    issued: Issued,
) -> None:
    keys = sorted(issued.printed)
    symbols = st.integers(min_value=0, max_value=len(ALPHABET) - 1)

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        source=st.one_of(
            st.tuples(st.just("issued"), st.sampled_from(keys)),
            st.tuples(st.just("random"), st.lists(symbols, min_size=15, max_size=15)),
            st.tuples(
                st.just("typo"),
                st.tuples(
                    st.sampled_from(keys),
                    st.integers(min_value=0, max_value=15),
                    st.integers(min_value=1, max_value=len(ALPHABET) - 1),
                ),
            ),
        ),
        style=st.integers(min_value=0, max_value=3),
        domain=st.sampled_from(DOMAINS),
        kind=st.sampled_from(KINDS),
        space=st.sampled_from(SPACES),
    )
    def accepted_iff_issued_for(
        source: tuple[str, object], style: int, domain: str, kind: str, space: str
    ) -> None:
        origin, detail = source
        if origin == "issued":
            code_domain, code_kind = detail  # type: ignore[misc]
            text = _typed(codes.normalize(issued.printed[(code_domain, code_kind)]), style)
            should = code_kind == kind and code_domain == domain and space == issued.owner(kind)
            assert (issued.attempt(text, domain=domain, kind=kind, space=space) is not None) is (
                should
            )
        elif origin == "random":
            made = _well_formed(detail)  # type: ignore[arg-type]
            if made is None:
                return
            assert (
                issued.attempt(_typed(made, style), domain=domain, kind=kind, space=space) is None
            )
        else:
            key, position, shift = detail  # type: ignore[misc]
            canonical = codes.normalize(issued.printed[key])
            symbol = ALPHABET[(ALPHABET.index(canonical[position]) + shift) % len(ALPHABET)]
            typo = canonical[:position] + symbol + canonical[position + 1 :]
            where, by = issued.spaces[space]
            with pytest.raises(CodeTypo):
                redemption.code_redeem(
                    by=by,
                    space=where,
                    domain=factories.domain(domain),
                    kind=kind,
                    code=_typed(typo, style),
                    security_code=SECURITY_CODE,
                )

    accepted_iff_issued_for()
    _nothing_changed()
