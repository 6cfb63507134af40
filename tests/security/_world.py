"""The world of the authorization matrix: one employer, the people around it, and their things.

Built once per test module through the services (``tests.factories``), inside a
transaction that is rolled back when the module ends; every request of the matrix
runs in a savepoint of its own, so nothing one cell does is seen by the next.

The roles, each a person (and, for the token API, an API client of the person's space
with every scope):

- ``anon``: nobody logged in, no token.
- ``other``: administrator of an unrelated space, which holds nothing from the employer.
- ``restricted``: collaborator of the act representative's space, restricted to another
  client of that space, so away from the employer.
- ``consult``: administrator of a representative's space holding a ``consult`` mandate
  from the employer in AFFILIATIONS.
- ``act``: administrator of a representative's space holding an ``act`` mandate from the
  employer in AFFILIATIONS.
- ``admin``: administrator of the employer's own space (primary mandates).
- ``agent``: an institution back-office agent, member of no space, with no API client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import transaction

from mandat.accounts.models import User
from mandat.api.models import ApiClient
from mandat.catalog.models import Domain
from mandat.certification import redemption
from mandat.certification import services as certification
from mandat.certification.models import CertificationRequest, CodeKind
from mandat.documents import services as documents
from mandat.documents.models import DispatchBatch, Letter, Notice
from mandat.mandates.models import Mandate
from mandat.registry.models import Employer, Representative
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Space
from tests import factories
from tests.factories import SECURITY_CODE, CertificationWorld
from tests.portal import inbox_builders

ROLES = ("anon", "other", "restricted", "consult", "act", "admin", "agent")
#: Every scope there is: a role's API client may do anything its space may.
ALL_DOMAINS = ("EMPLOYER", "AFFILIATIONS", "REMUNERATIONS", "BILLING")


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    """A savepoint undone at the end, in which the services' durable blocks may still run.

    Django lets a durable block nest only inside a test case's own atomic blocks; this
    one is marked as such, as ``django.test.TestCase`` marks its own.
    """
    atomic = transaction.atomic()
    atomic._from_testcase = True  # type: ignore[attr-defined]
    with atomic:
        yield
        transaction.set_rollback(True)


@dataclass
class World:
    employer: Employer
    other_employer: Employer  # the only client the restricted collaborator may reach
    users: dict[str, User]
    spaces: dict[str, Space]  # by role: the role's own space (none for anon and agent)
    employer_space: Space
    act_space: Space
    act_representative: Representative
    primary_mandate: Mandate  # the employer's own, in AFFILIATIONS
    act_mandate: Mandate  # given by the employer to the act representative's space
    consult_mandate: Mandate
    colleague: Membership  # a collaborator of the employer's space
    notice: Notice  # in the employer's space
    delivery_id: int  # a document in the employer's e-Box
    sister_space: Space  # of another employer that ``admin`` administers
    issued_request: CertificationRequest  # the sister's, its letter printed
    open_request: CertificationRequest  # the employer's next one, signed, not transmitted
    queued_request: CertificationRequest  # another employer's, waiting for an agent
    letter: Letter
    batch: DispatchBatch
    api_client: ApiClient  # of the employer's space, for the API-client pages
    clients: dict[str, ApiClient]  # by role
    codes: dict[tuple[str, str], str]  # printed in the sister's letter
    extra: dict[str, Any] = field(default_factory=dict)

    def own_mandate(self, role: str) -> Mandate | None:
        """The mandate the role's space holds from the employer in AFFILIATIONS."""
        return {
            "admin": self.primary_mandate,
            "act": self.act_mandate,
            "restricted": self.act_mandate,
            "consult": self.consult_mandate,
        }.get(role)

    def value(self, key: str, role: str) -> Any:
        """A URL argument or body value by name; ``own_*`` depends on the role, and
        ``=text`` is the text itself."""
        if key.startswith("="):
            return key[1:]
        if key == "own_space":
            space = self.spaces.get(role)
            # anon and the agent have no space: they try the employer's.
            return (space or self.employer_space).pk
        if key == "own_mandate":
            mandate = self.own_mandate(role)
            return (mandate or self.act_mandate).pk
        values: dict[str, Any] = {
            "employer_space": self.employer_space.pk,
            "act_space": self.act_space.pk,
            "sister_space": self.sister_space.pk,
            "employer": self.employer.pk,
            "notice": self.notice.pk,
            "delivery": self.delivery_id,
            "colleague": self.colleague.pk,
            "primary_mandate": self.primary_mandate.pk,
            "act_mandate": self.act_mandate.pk,
            "open_request": self.open_request.pk,
            "issued_request": self.issued_request.pk,
            "queued_request": self.queued_request.pk,
            "letter": self.letter.pk,
            "batch": self.batch.pk,
            "api_client": self.api_client.pk,
            "act_representative": self.act_representative.pk,
            "AFFILIATIONS": "AFFILIATIONS",
        }
        return values[key]


def _domains() -> list[Domain]:
    return [factories.domain(code) for code in ALL_DOMAINS]


def _representative_space(name: str, admin: User) -> tuple[Representative, Space]:
    firm = factories.representative(name)
    return firm, factories.space_of(firm.organisation, admin=admin)


def build() -> World:
    """The whole world, through the services; a few seconds (two PDFs are rendered)."""
    users = {role: factories.user(f"matrix-{role}") for role in ROLES if role != "anon"}
    users["agent"].is_agent = True
    users["agent"].save(update_fields=["is_agent"])
    admin = users["admin"]
    # The admin has second factors: only its owner reaches them.
    TOTP.activate(admin, generate_totp_secret())
    RecoveryCodes.activate(admin)

    # The employer, its own space, and its open request: answered and signed, not sent.
    employer = factories.employer("Matrix Employer S.A.")
    firm, act_space = _representative_space("Matrix Act Fiduciary", users["act"])
    world = CertificationWorld(
        employer=employer,
        boss=admin,
        space=factories.space_of(employer.organisation, admin=admin),
        salary=firm,
        salary_admin=users["act"],
        salary_space=act_space,
    )
    open_request = certification.request_sign(
        by=admin, request=factories.request_answered(world, delegations=[])
    )
    # A sister company, also administered by ``admin``, whose request was issued: its
    # letter's codes (an employer with an issued request cannot open another one).
    sister = factories.employer("Matrix Sister S.A.")
    sister_world = CertificationWorld(
        employer=sister,
        boss=admin,
        space=factories.space_of(sister.organisation, admin=admin),
        salary=firm,
        salary_admin=users["act"],
        salary_space=act_space,
    )
    issued = factories.request_issued_for(sister_world, delegations=[])
    codes = factories.request_codes(issued)
    # The sister certified for AFFILIATIONS, so its revocation code has something to end.
    redemption.code_redeem(
        by=admin,
        space=sister_world.space,
        domain=factories.domain("AFFILIATIONS"),
        kind=CodeKind.HOLDER,
        code=codes[("AFFILIATIONS", "holder")],
        security_code=SECURITY_CODE,
    )
    batch = documents.batch_create(by=factories.agent())
    letter = issued.letters.order_by("pk").first()
    assert letter is not None
    # Another employer's request, transmitted: the agent's queue.
    other_employer = factories.employer("Matrix Other Client S.à r.l.")
    queued = factories.transmitted_request(other_employer)

    space = world.space
    primary = factories.mandate(employer_=employer, space=space, level="act")
    factories.mandate(employer_=employer, space=space, domain_code="REMUNERATIONS", level="act")
    act_mandate = factories.mandate(employer_=employer, space=act_space, level="act")
    factories.mandate(employer_=other_employer, space=act_space, level="act")
    _firm2, consult_space = _representative_space("Matrix Consult Fiduciary", users["consult"])
    consult_mandate = factories.mandate(employer_=employer, space=consult_space, level="consult")
    other_space = factories.space_of(
        factories.organisation("Matrix Unrelated"), admin=users["other"]
    )
    space_services.member_add(
        by=users["act"],
        space=act_space,
        user=users["restricted"],
        employers=[other_employer],
    )
    colleague = space_services.member_add(
        by=admin, space=space, user=factories.user("matrix-colleague")
    )

    # The employer's e-Box: eDelivery in BILLING, one statement, and its notice.
    inbox_builders.edelivery(space, employer, "BILLING", level="act")
    delivery = inbox_builders.statement(employer, "BILLING")
    notice = Notice.objects.filter(space=space).order_by("-pk").first()
    assert notice is not None

    spaces = {
        "other": other_space,
        "restricted": act_space,
        "consult": consult_space,
        "act": act_space,
        "admin": space,
    }
    scopes = tuple((code, "act") for code in ALL_DOMAINS)
    clients = {
        role: factories.api_client(spaces[role], scopes, admin=users[role])
        for role in ("other", "consult", "act", "admin")
    }
    # An API client acts as its space: the collaborator's restriction is the person's.
    clients["restricted"] = clients["act"]
    return World(
        employer=employer,
        other_employer=other_employer,
        users=users,
        spaces=spaces,
        employer_space=space,
        act_space=act_space,
        act_representative=firm,
        primary_mandate=primary,
        act_mandate=act_mandate,
        consult_mandate=consult_mandate,
        colleague=colleague,
        notice=notice,
        delivery_id=delivery.pk,
        sister_space=sister_world.space,
        issued_request=issued,
        open_request=open_request,
        queued_request=queued,
        letter=letter,
        batch=batch,
        api_client=factories.api_client(space, scopes, admin=admin, name="Matrix software"),
        clients=clients,
        codes=codes,
        extra={"security_code": SECURITY_CODE},
    )
