"""The employer's space in Chromium: profile, certifications, members (procedure D), mandates given.

The demo's Boulangerie has given no mandate at seed time, so the module first has
an agent grant Salary S.A. two mandates from it, certify the bakery's space to act in
one of the two domains (which lets its administrators end that domain's mandates),
and create one more person, with
``mandat shell -c`` against the served database (the server runs in another
process, so the tests cannot use the ORM directly).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from mandat.demo import BOULANGERIE_NUMBER, DEMO_PASSWORD, SALARY_NUMBER
from tests.browser.conftest import MandatServer, log_in, navigate

BOULANGERIE = "Boulangerie Demo S.à r.l."
COLLEAGUE_ID = "1990010112345"

_SETUP = f"""
from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.mandates import services
from mandat.registry.models import Employer
from mandat.spaces.models import Space

agent = User.objects.get(username="agent")
employer = Employer.objects.get(employer_number="{BOULANGERIE_NUMBER}")
salary = Space.objects.get(
    organisation__representative__registration_number="{SALARY_NUMBER}", closed_at__isnull=True
)
for code, level in (("AFFILIATIONS", "act"), ("BILLING", "consult")):
    domain = Domain.objects.get(institution__code="CCSS", code=code)
    mandate = services.mandate_grant(
        by=agent, employer=employer, domain=domain, space=salary,
        kind="obtained", level=level, activate=False,
    )
    services.mandate_activate(by=agent, mandate=mandate)
# Certified to act in affiliations, the bakery's administrators may end that domain's mandates.
services.mandate_grant(
    by=agent, employer=employer, space=Space.objects.get(organisation=employer.organisation),
    domain=Domain.objects.get(institution__code="CCSS", code="AFFILIATIONS"),
    kind="primary", level="act",
)
User.objects.create_user(
    username="colleague", email="colleague@demo.mandat.lu", password="{DEMO_PASSWORD}",
    first_name="Colette", last_name="Collègue", national_id="{COLLEAGUE_ID}",
)
print("set up")
"""


@pytest.fixture(scope="module")
def given_world(mandat_server: MandatServer) -> MandatServer:
    """Salary S.A. holds two mandates from Boulangerie; a person with a national id exists."""
    assert "set up" in mandat_server.manage("shell", "-c", _SETUP)
    return mandat_server


def _follow(page: Any, shots: Any, name: str, link: Any, url: str) -> None:
    locator = page.get_by_role("link", name=link, exact=True) if isinstance(link, str) else link
    navigate(page, locator.click, url)
    shots(page, name)


def _press(page: Any, shots: Any, name: str, url: str, *, button: str = "Continue") -> None:
    navigate(page, page.get_by_role("button", name=button, exact=True).click, url)
    shots(page, name)


def _tab(page: Any, shots: Any, tab: str, url: str) -> None:
    def link() -> Any:
        return page.get_by_role("navigation", name="Space").get_by_role("link", name=tab)

    _follow(page, shots, f"employer {tab.lower()}", link(), url)
    expect(link()).to_have_attribute("aria-current", "page")


def _error(page: Any, text: str) -> None:
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(text)


def test_employer_profile_members_and_mandates_given(
    given_world: MandatServer, people: Any, shots: Any
) -> None:
    page = people("employer")
    log_in(page, "employer", shots=shots)
    shots(page, "employer spaces")
    _follow(page, shots, "employer space", BOULANGERIE, r"/spaces/\d+/$")
    space_id = int(re.search(r"/spaces/(\d+)/", page.url).group(1))  # type: ignore[union-attr]

    # Profile and Certifications
    _tab(page, shots, "Profile", r"/profile/$")
    main = page.locator("main")
    expect(main).to_contain_text(BOULANGERIE_NUMBER)
    expect(main).to_contain_text("Professional space")
    expect(main).to_contain_text("Émile Boulanger")
    _tab(page, shots, "Certifications", r"/certifications/$")
    expect(
        page.get_by_role("link", name=re.compile("^Add with an access code")).first
    ).to_be_visible()

    # Members: add a collaborator by national identifier, limited to Billing
    _tab(page, shots, "Members", r"/members/$")
    _follow(page, shots, "add member who", "Add a member", r"/members/add/$")
    page.get_by_label("Who do you add to this space?").fill("nobody@example.test")
    _press(page, shots, "add member unknown", r"/members/add/$")
    _error(page, "We found no active account for this person.")
    expect(page.get_by_label("Who do you add to this space?")).to_have_value("nobody@example.test")
    page.get_by_label("Who do you add to this space?").fill("1990 0101 123 45")
    _press(page, shots, "add member role", r"/members/add/role/$")
    page.get_by_label("Collaborator").check()
    _press(page, shots, "add member restrictions", r"/members/add/restrictions/$")
    page.get_by_label("Only the clients listed below").check()
    page.get_by_label("Employer numbers of these clients").fill(f"{BOULANGERIE_NUMBER}\n12345")
    page.get_by_label("Only the domains ticked below").check()
    page.get_by_label("Billing and accounting").check()
    _press(page, shots, "add member restrictions error", r"/members/add/restrictions/$")
    _error(page, "line 2 (12345)")
    page.get_by_label("Employer numbers of these clients").fill(BOULANGERIE_NUMBER)
    _press(page, shots, "add member check", r"/members/add/check/$")
    # What was typed, not the name it found: a look-up does not tell who a person is.
    expect(page.locator("main")).to_contain_text("1990 0101 123 45")
    expect(page.locator("main")).not_to_contain_text("Colette")
    _press(page, shots, "member added", r"/members/\d+/added/$", button="Add this member")
    expect(page.get_by_role("status")).to_contain_text("Colette Collègue is now a member")

    # Lift the domain limit, then remove the member
    _follow(page, shots, "members after add", "Back to Members", r"/members/$")
    _follow(page, shots, "member detail", "Colette Collègue", r"/members/\d+/$")
    _follow(
        page,
        shots,
        "member restrict",
        page.get_by_role("link", name="Change the restrictions"),
        r"/restrict/$",
    )
    page.get_by_label("All domains").check()
    _press(
        page,
        shots,
        "member restrictions saved",
        r"/members/\d+/\?saved=1$",
        button="Save the restrictions",
    )
    expect(page.get_by_role("status")).to_contain_text("Restrictions saved")
    _follow(page, shots, "member remove", "Remove from this space", r"/remove/$")
    expect(page.locator(".warning-text")).to_contain_text("can no longer do any of this")
    _press(page, shots, "member removed", r"/members/$", button="Yes, remove this member")
    expect(page.get_by_role("status")).to_contain_text("Colette Collègue is no longer a member")

    # The last administrator cannot leave
    _follow(page, shots, "leave", "Leave this space", r"/leave/$")
    _press(page, shots, "leave refused", r"/leave/$", button="Yes, leave this space")
    _error(page, "The last administrator of a space cannot be removed.")

    # Mandates given: end one after being told what stops working
    page.goto(f"/spaces/{space_id}/members/")
    _tab(page, shots, "Mandates given", r"/given/$")
    expect(page.locator("main")).to_contain_text("Salary S.A.")
    # Not certified to act in billing: that mandate shows, but without an End link.
    expect(
        page.get_by_role("link", name="End the mandate of Salary S.A. for Billing and accounting")
    ).to_have_count(0)
    _follow(
        page,
        shots,
        "given end",
        page.get_by_role("link", name="End the mandate of Salary S.A. for Employee affiliations"),
        r"/given/\d+/end/$",
    )
    warning = page.locator(".warning-text")
    expect(warning).to_contain_text("Declare an entry or an exit")
    _press(page, shots, "given ended", r"/given/\d+/ended/$", button="Yes, end this mandate now")
    expect(page.get_by_role("status")).to_contain_text(
        "Salary S.A. can no longer work for you in Employee affiliations."
    )
    _follow(page, shots, "given history", "Back to Mandates given", r"/given/$")
    history = page.locator("table").last
    expect(history).to_contain_text("Employee affiliations")
    expect(history).to_contain_text("Émile Boulanger")

    # The representative loses the ended domain at once; Billing stays open.
    page = people("salary")
    log_in(page, "salary", shots=shots)
    shots(page, "salary spaces")
    _follow(page, shots, "salary space", "Salary S.A.", r"/spaces/\d+/$")
    space_id = int(re.search(r"/spaces/(\d+)/", page.url).group(1))  # type: ignore[union-attr]
    employer_id = _employer_id(given_world)
    gone = page.goto(f"/spaces/{space_id}/employers/{employer_id}/domains/AFFILIATIONS/")
    assert gone is not None and gone.status == 404
    kept = page.goto(f"/spaces/{space_id}/employers/{employer_id}/domains/BILLING/")
    assert kept is not None and kept.status == 200
    shots(page, "salary billing still open")


def _employer_id(server: MandatServer) -> int:
    code = (
        "from mandat.registry.models import Employer;"
        f"print(Employer.objects.get(employer_number='{BOULANGERIE_NUMBER}').pk)"
    )
    return int(server.manage("shell", "-c", code).strip().splitlines()[-1])
