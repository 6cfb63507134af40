"""The demo world. Seeding takes seconds, so it is built once for the whole class."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory, TestCase

from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.core import audit
from mandat.core.models import AuditEvent
from mandat.demo import DEMO_PASSWORD, seed_demo
from mandat.documents import services as documents
from mandat.documents.models import (
    Delivery,
    EDelivery,
    Letter,
    LetterKind,
    LetterStatus,
    Notice,
    NoticeKind,
)
from mandat.mandates.models import Mandate, MandateKind, MandateStatus
from mandat.mandates.policies import can, iter_employers_for
from mandat.registry import selectors as registry
from mandat.registry.models import Employer, Organisation, Representative
from mandat.spaces.models import Membership, Role, Space

USERNAMES = ["agent", "employer", "salary", "salary-clerk", "fiduciary"]


def _census() -> dict[str, int]:
    models = [
        User,
        Organisation,
        Employer,
        Representative,
        Space,
        Membership,
        Mandate,
        AuditEvent,
        Letter,
        Delivery,
        Notice,
    ]
    return {model.__name__: model._default_manager.count() for model in models}


def _space_of(username: str) -> Space:
    return Space.objects.get(memberships__user__username=username, memberships__removed_at=None)


class DemoWorldTests(TestCase):
    output: str

    @classmethod
    def setUpTestData(cls) -> None:
        out = StringIO()
        call_command("seed", "--demo", stdout=out)
        cls.output = out.getvalue()

    def domain(self, code: str) -> Domain:
        return Domain.objects.get(institution__code="CCSS", code=code)

    def test_the_command_names_every_demo_user_and_the_password(self) -> None:
        for username in USERNAMES:
            assert username in self.output
        assert DEMO_PASSWORD in self.output

    def test_every_demo_user_logs_in_with_the_demo_password(self) -> None:
        # As the login page does: with the request (django-axes keys its lockout on it).
        request = RequestFactory().post("/login/")
        for username in USERNAMES:
            found = authenticate(request, username=username, password=DEMO_PASSWORD)
            assert found is not None, username
        assert authenticate(request, username="agent", password="not-the-password") is None
        assert User.objects.get(username="agent").is_agent
        assert not User.objects.filter(is_agent=True).exclude(username="agent").exists()

    def test_the_bakery_and_salary_sa_are_in_the_registry(self) -> None:
        ccss = Domain.objects.get(code="EMPLOYER").institution
        bakery = registry.employer_match(
            institution=ccss, employer_number="20191234567", name="Boulangerie Demo S.à r.l."
        )
        assert bakery.name == "Boulangerie Demo S.à r.l."
        salary = registry.representative_match(
            registration_number="2020220124699", name="Salary S.A."
        )
        assert salary.organisation.identifier == "2020220124699"

    def test_each_organisation_has_its_space_and_people(self) -> None:
        bakery = _space_of("employer")
        assert bakery.organisation is not None
        assert bakery.organisation.name == "Boulangerie Demo S.à r.l."
        salary = _space_of("salary")
        assert salary.name == "Salary S.A."
        roles = {m.user.username: m.role for m in salary.memberships.select_related("user")}
        assert roles == {"salary": Role.ADMIN, "salary-clerk": Role.COLLABORATOR}
        assert (
            _space_of("fiduciary").organisation
            == Representative.objects.get(denomination="Fiduciaire Grand-Duché S.A.").organisation
        )

    def test_the_fiduciary_acts_for_5000_clients_in_affiliations(self) -> None:
        fiduciary = User.objects.get(username="fiduciary")
        affiliations = self.domain("AFFILIATIONS")
        clients = list(iter_employers_for(fiduciary, affiliations, "act"))
        assert len(clients) == len(set(clients)) == 5000
        assert (
            Mandate.objects.filter(
                grantee_space=_space_of("fiduciary"),
                domain=affiliations,
                kind=MandateKind.OBTAINED,
                status=MandateStatus.ACTIVE,
            ).count()
            == 5000
        )
        assert can(fiduciary, "act", clients[0], affiliations)

    def test_the_fiduciary_only_consults_employer_data_and_the_agent_acts_for_nobody(
        self,
    ) -> None:
        fiduciary = _user("fiduciary")
        employer_data = self.domain("EMPLOYER")
        assert sum(1 for _ in iter_employers_for(fiduciary, employer_data, "consult")) == 5000
        assert list(iter_employers_for(fiduciary, employer_data, "act")) == []
        # An agent manages the registry and mandates but acts for no employer.
        assert list(iter_employers_for(_user("agent"), employer_data, "consult")) == []

    def test_the_audit_chain_of_the_seed_verifies(self) -> None:
        verdict = audit.verify()
        assert verdict.ok, str(verdict)
        assert verdict.checked == AuditEvent.objects.count()
        granted = AuditEvent.objects.filter(action="mandate.granted")
        assert granted.count() == Mandate.objects.count()
        assert not granted.filter(employer_id=None).exists()

    def test_the_bakery_inbox_holds_three_statements_one_unread(self) -> None:
        bakery = _space_of("employer")
        employer = User.objects.get(username="employer")
        deliveries = list(Delivery.objects.filter(space=bakery).order_by("created_at", "pk"))
        assert len(deliveries) == 3
        assert [d.read_at is None for d in deliveries] == [False, False, True]
        assert all(d.read_by == employer for d in deliveries[:2])
        for delivery in deliveries:
            assert delivery.letter.kind == LetterKind.CONTRIBUTION_STATEMENT
            assert documents.letter_pdf(delivery.letter).startswith(b"%PDF-")
        unread = Notice.objects.filter(space=bakery, read_at__isnull=True)
        assert [n.kind for n in unread] == [NoticeKind.DOCUMENT_DELIVERED]
        assert unread[0].params["letter"] == deliveries[-1].letter_id
        # eDelivery for billing only, and no certification: the story starts from nothing,
        # and the code letters of a request (all domains) still go by post.
        subscriptions = EDelivery.objects.filter(space=bakery)
        assert [s.domain.code for s in subscriptions] == ["BILLING"]
        assert not Mandate.objects.filter(employer__employer_number="20191234567").exists()
        assert not Letter.objects.filter(status=LetterStatus.QUEUED).exists()

    def test_a_seed_interrupted_before_the_bakery_statements_is_detected(self) -> None:
        newest = Delivery.objects.filter(
            employer__employer_number="20191234567", read_at__isnull=True
        ).get()
        Notice.objects.filter(delivery=newest).delete()
        newest.delete()  # as if the seed had stopped before its last statement
        with self.assertRaisesMessage(RuntimeError, "interrupted"):
            seed_demo()

    def test_a_second_run_changes_nothing(self) -> None:
        before = _census()
        out = StringIO()
        call_command("seed", "--demo", stdout=out)
        assert "already" in out.getvalue()
        assert seed_demo().created is False
        assert _census() == before
        assert audit.verify().ok


def _user(username: str) -> User:
    return User.objects.get(username=username)
