"""The home page, the space overview and the Inbox, in Chromium against ``mandat serve``.

The employer sees its pending actions and unread documents on the home page, filters its
Inbox, downloads a statement (a real PDF), marks documents read and unread, and reads the
overview; the fiduciary's home page, with 5,000 clients, stays quick and short.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import log_in, navigate

BOULANGERIE = "Boulangerie Demo S.à r.l."
FIDUCIARY = "Fiduciaire Grand-Duché S.A."
SPACE_URL = re.compile(r"/spaces/(\d+)/$")


def login(page: Any, shots: Any, who: str) -> None:
    log_in(page, who)
    expect(page.get_by_role("heading", name="Your spaces")).to_be_visible()
    shots(page, f"{who} home")


def card(page: Any, space: str) -> Any:
    return page.get_by_role("region", name=space)


def inbox_rows(page: Any) -> Any:
    return page.get_by_role("table", name="Documents in the Inbox").locator("tbody tr")


def press(page: Any, shots: Any, name: str, button: Any, url: str) -> None:
    navigate(page, button.click, url)
    shots(page, name)


def test_employer_home_inbox_and_overview(people: Any, shots: Any, tmp_path: Path) -> None:
    employer = people("employer")
    login(employer, shots, "employer")
    bakery = card(employer, BOULANGERIE)
    expect(bakery).to_contain_text("Not certified for any domain yet.")
    expect(bakery).to_contain_text("Nothing to do.")
    unread_link = bakery.get_by_role("link", name=re.compile(r"^1 unread document"))
    expect(unread_link).to_be_visible()

    # The unread link opens the Inbox on the unread documents.
    press(employer, shots, "inbox unread", unread_link, r"/inbox/\?unread=1$")
    expect(employer.get_by_role("heading", level=1)).to_contain_text("Inbox")
    expect(employer.get_by_label("Unread only")).to_be_checked()
    expect(inbox_rows(employer)).to_have_count(1)
    expect(inbox_rows(employer).first).to_contain_text("Statement of contributions")

    # Filters: every document; by domain and employer; a search that finds nothing.
    employer.get_by_label("Unread only").uncheck()
    press(employer, shots, "inbox all", employer.get_by_role("button", name="Show"), r"/inbox/")
    expect(inbox_rows(employer)).to_have_count(3)
    expect(employer.get_by_role("status")).to_have_text("3 documents.")
    employer.get_by_label("Domain").select_option(label="Billing and accounting")
    employer.get_by_label("Employer").fill("20191234567")
    press(employer, shots, "inbox filtered", employer.get_by_role("button", name="Show"), "domain=")
    expect(inbox_rows(employer)).to_have_count(3)
    expect(employer.get_by_label("Employer")).to_have_value("20191234567")
    employer.get_by_label("Employer").fill("Garage")
    press(employer, shots, "inbox none", employer.get_by_role("button", name="Show"), "Garage")
    expect(employer.get_by_text("No document matches these filters.")).to_be_visible()
    press(
        employer,
        shots,
        "inbox cleared",
        employer.get_by_role("link", name="Clear the filters"),
        r"/inbox/$",
    )

    # Download the unread statement: a real PDF; it is read from then on.
    newest = inbox_rows(employer).first
    expect(newest).to_contain_text("Unread")
    with employer.expect_download() as download:
        newest.get_by_role("link", name=re.compile(r"^Download \(PDF\)")).click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-"), data[:20]
    text = " ".join(page.extract_text() for page in PdfReader(saved).pages)
    assert "Boulangerie Demo" in text and "EUR" in text, text[:500]
    employer.reload()
    expect(employer.get_by_text("0 unread documents.")).to_be_visible()
    expect(inbox_rows(employer).first).to_contain_text("Read by Émile Boulanger")
    shots(employer, "inbox after download")

    # Mark as unread, then as read again.
    button = inbox_rows(employer).first.get_by_role("button", name=re.compile("^Mark as unread"))
    press(employer, shots, "inbox marked unread", button, r"/inbox/$")
    expect(employer.get_by_text("1 unread document.")).to_be_visible()
    button = inbox_rows(employer).first.get_by_role("button", name=re.compile("^Mark as read"))
    press(employer, shots, "inbox marked read", button, r"/inbox/$")
    expect(employer.get_by_text("0 unread documents.")).to_be_visible()

    # The overview: latest documents, a link to the Inbox, no clients or members table.
    tabs = employer.get_by_role("navigation", name="Space")
    press(employer, shots, "overview", tabs.get_by_role("link", name="Overview"), SPACE_URL.pattern)
    latest = employer.get_by_role("table", name="Latest documents in the Inbox")
    expect(latest.locator("tbody tr")).to_have_count(3)
    expect(
        employer.get_by_role("link", name="All documents in the Inbox (0 unread)")
    ).to_be_visible()
    expect(employer.get_by_role("table", name="Clients")).to_have_count(0)

    # A request started and left: the home page says to continue it, and links there.
    employer.goto(employer.url + "certification/request/")
    press(
        employer,
        shots,
        "request consent",
        employer.get_by_role("button", name="Start now"),
        r"/request/consent/$",
    )
    employer.goto("/")
    shots(employer, "employer home with a draft")
    bakery = card(employer, BOULANGERIE)
    expect(bakery).to_contain_text("No unread document.")
    press(
        employer,
        shots,
        "continue the request",
        bakery.get_by_role("link", name="Continue your certification request"),
        r"/request/consent/$",
    )


def test_the_fiduciary_home_stays_quick_and_short(people: Any, shots: Any) -> None:
    fiduciary = people("fiduciary")
    login(fiduciary, shots, "fiduciary")
    started = time.monotonic()
    fiduciary.reload()
    elapsed = time.monotonic() - started
    firm = card(fiduciary, FIDUCIARY)
    expect(firm).to_contain_text("Holds 16,667 mandates from 5,000 clients.")
    assert elapsed < 5, f"the home page took {elapsed:.2f} s"
    assert len(fiduciary.content()) < 20_000, "one line for 16,667 mandates, not a row each"
    shots(fiduciary, "fiduciary home again")
    press(
        fiduciary,
        shots,
        "fiduciary inbox",
        firm.get_by_role("link", name=re.compile("^Open the Inbox")),
        r"/inbox/$",
    )
    expect(fiduciary.get_by_text("The Inbox is empty.")).to_be_visible()
    tabs = fiduciary.get_by_role("navigation", name="Space")
    press(
        fiduciary, shots, "fiduciary overview", tabs.get_by_role("link", name="Overview"), r"/\d+/$"
    )
