"""A representative's clients in Chromium: the demo's fiduciary with 5,000 clients.

Fiduciaire Grand-Duché searches, filters, sorts and pages its client list, downloads
it as CSV, acts for a client (the banner follows it to another page) and stops,
then renounces a mandate through its confirmation page. Salary S.A.'s collaborator
sees its own space's clients read-only. Salary's one client is granted at the start
with ``mandat shell -c`` against the served database, as an agent would.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from mandat.demo import BOULANGERIE_NUMBER, SALARY_NUMBER
from mandat.portal.client_selectors import fold
from tests.browser.conftest import MandatServer, log_in, navigate

FIDUCIARY = "Fiduciaire Grand-Duché S.A."
BANNER = "You are acting for"

_SETUP = f"""
from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.mandates import services
from mandat.registry.models import Employer
from mandat.spaces.models import Space

salary = Space.objects.get(
    organisation__representative__registration_number="{SALARY_NUMBER}", closed_at__isnull=True
)
services.mandate_grant(
    by=User.objects.get(username="agent"),
    employer=Employer.objects.get(employer_number="{BOULANGERIE_NUMBER}"),
    domain=Domain.objects.get(institution__code="CCSS", code="AFFILIATIONS"),
    space=salary, kind="obtained", level="act",
)
print("set up")
"""


@pytest.fixture(scope="module")
def world(mandat_server: MandatServer) -> MandatServer:
    assert "set up" in mandat_server.manage("shell", "-c", _SETUP)
    return mandat_server


def _login(page: Any, shots: Any, who: str) -> None:
    log_in(page, who)
    shots(page, f"{who} spaces")


def _clients_tab(page: Any, shots: Any, who: str, space: str) -> None:
    navigate(page, page.get_by_role("link", name=space, exact=True).first.click, r"/spaces/\d+/$")
    tabs = page.get_by_role("navigation", name="Space")
    navigate(page, tabs.get_by_role("link", name="Clients", exact=True).click, r"/clients/$")
    expect(tabs.get_by_role("link", name="Clients", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    shots(page, f"{who} clients")


def _show(page: Any) -> None:
    navigate(page, page.get_by_role("button", name="Show clients").click, r"/clients/\?")


def _status(page: Any) -> str:
    return str(page.locator(".client-count").inner_text())


def _names(page: Any) -> list[str]:
    return list(page.locator(".client-table tbody tr td:first-child").all_inner_texts())


def test_the_fiduciary_finds_its_clients_acts_for_one_and_renounces(
    world: MandatServer, people: Any, shots: Any, tmp_path: Path
) -> None:
    page = people("fiduciary")
    _login(page, shots, "fiduciary")
    _clients_tab(page, shots, "fiduciary", FIDUCIARY)
    assert re.fullmatch(r"1–50 of 5,?000 clients", _status(page)), _status(page)
    expect(page.locator(".client-table tbody tr")).to_have_count(50)

    # Search by name, without the accent and in capitals.
    page.get_by_label("Name or employer number").fill("PLATRERIE")
    _show(page)
    shots(page, "fiduciary search by name")
    assert all("plâtrerie" in name.lower() for name in _names(page))
    expect(page.get_by_label("Name or employer number")).to_have_value("PLATRERIE")

    # Search by the start of an employer number.
    page.get_by_label("Name or employer number").fill("1990000012")
    _show(page)
    shots(page, "fiduciary search by number")
    numbers = page.locator(".client-table tbody tr td:nth-child(2)").all_inner_texts()
    assert numbers and all(n.startswith("1990000012") for n in numbers)

    # Filter by domain and level, sort, and page.
    page.get_by_label("Name or employer number").fill("")
    page.get_by_label("Domain").select_option(label="Billing and accounting")
    page.get_by_label("Level").select_option("consult")
    page.get_by_label("Sort by").select_option("-name")
    _show(page)
    shots(page, "fiduciary filtered and sorted")
    assert _status(page) == "1–50 of 1,667 clients" or _status(page) == "1–50 of 1667 clients"
    names = _names(page)
    assert names == sorted(names, key=fold, reverse=True)  # accents and case ignored
    page.set_viewport_size({"width": 320, "height": 800})
    shots(page, "fiduciary clients at 320 px")
    page.set_viewport_size({"width": 1100, "height": 900})
    navigate(page, page.get_by_role("link", name="Next page").click, r"page=2")
    shots(page, "fiduciary page 2")
    assert _status(page).startswith("51–100 of")
    expect(page.get_by_label("Domain")).to_have_value("BILLING")

    # The CSV holds every matching client, not one page.
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"^Download these .* clients as CSV$")).click()
    saved = tmp_path / "clients.csv"
    download.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Employer", "Employer number"]
    assert len(rows) == 1 + 1667
    assert all(row[5] == "Consult" for row in rows[1:])

    # Open a client and act for it: the banner follows to another page.
    first = page.locator(".client-table tbody tr td:first-child a").first
    client_name = first.inner_text()
    navigate(page, first.click, r"/clients/\d+/$")
    shots(page, "fiduciary client")
    page.set_viewport_size({"width": 320, "height": 800})
    shots(page, "fiduciary client at 320 px")
    page.set_viewport_size({"width": 1100, "height": 900})
    expect(page.get_by_role("heading", level=1)).to_contain_text(client_name)
    navigate(page, page.get_by_role("button", name="Act for this client").click, r"/clients/\d+/$")
    banner = page.get_by_role("region", name="Client you are acting for")
    expect(banner).to_contain_text(f"{BANNER} {client_name}")
    shots(page, "fiduciary acting")
    client_url = page.url
    navigate(page, page.get_by_role("link", name="mandat", exact=True).click, r"/$")
    expect(banner).to_contain_text(client_name)
    expect(banner).to_contain_text(FIDUCIARY)
    shots(page, "fiduciary acting on home")
    navigate(page, banner.get_by_role("button", name="Stop acting for this client").click, r"/$")
    expect(page.get_by_text(BANNER)).to_have_count(0)
    shots(page, "fiduciary stopped acting")

    # Renounce one mandate of this client, after a page that says what stops.
    page.goto(client_url)
    renounce = page.get_by_role("link", name=re.compile(r"^Renounce Employer general data"))
    navigate(page, renounce.click, r"/renounce/$")
    expect(page.get_by_role("heading", name="What will stop working")).to_be_visible()
    shots(page, "fiduciary renounce confirm")
    navigate(
        page,
        page.get_by_role("button", name="Yes, renounce this mandate").click,
        r"/renounced/$",
    )
    expect(page.locator(".panel")).to_contain_text("Mandate renounced")
    shots(page, "fiduciary renounced")
    navigate(page, page.get_by_role("link", name="Back to this client").click, r"/clients/\d+/$")
    expect(
        page.get_by_role("link", name=re.compile(r"^Renounce Employer general data"))
    ).to_have_count(0)


def test_a_collaborator_sees_the_clients_read_only(
    world: MandatServer, people: Any, shots: Any
) -> None:
    page = people("salary-clerk")
    _login(page, shots, "salary-clerk")
    _clients_tab(page, shots, "salary-clerk", "Salary S.A.")
    assert _status(page) == "1–1 of 1 client"
    navigate(page, page.locator(".client-table tbody a").first.click, r"/clients/\d+/$")
    shots(page, "salary-clerk client")
    expect(page.get_by_role("link", name=re.compile("^Renounce"))).to_have_count(0)
    expect(page.get_by_text("Only an administrator of this space may renounce")).to_be_visible()
