"""The whole Luxembourg story, played in Chromium as people would, against ``mandat serve``.

1. the employer files the certification request through every page, naming Salary S.A.;
2. the agent issues it and downloads the print batch (PDF and CSV manifest);
3. the codes are read from the letters' PDF text with pypdf;
4. the employer certifies its own space with the holder access codes;
5. Salary certifies its space with the representative codes and the security code;
6. Salary sees the employer among its clients, with consult-only rights;
7. the employer revokes a certification with its revocation code.

Every page seen is screenshotted into ``test-artifacts/screenshots/<test>/``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from pypdf import PdfReader

from mandat.core import codes
from mandat.demo import BOULANGERIE_NUMBER, SALARY_NUMBER
from tests.browser.conftest import log_in, navigate

BOULANGERIE = "Boulangerie Demo S.à r.l."
SALARY = "Salary S.A."
SECURITY_CODE = "Pain-2026"
DELEGATED = ["EMPLOYER", "AFFILIATIONS", "REMUNERATIONS"]
#: The CCSS domains as the English pages name them, and as the French letters name them.
ENGLISH = {
    "EMPLOYER": "Employer general data",
    "AFFILIATIONS": "Employee affiliations",
    "REMUNERATIONS": "Remunerations and work incapacities",
    "BILLING": "Billing and accounting",
}
FRENCH = {
    "EMPLOYER": "Données générales de l'employeur",
    "AFFILIATIONS": "Affiliations des salariés",
    "REMUNERATIONS": "Rémunérations et incapacités de travail des salariés",
    "BILLING": "Facturation et comptabilité",
}
_GROUP = f"[{codes.ALPHABET}]{{4}}"
CODE = re.compile(rf"{_GROUP}-{_GROUP}-{_GROUP}-{_GROUP}")
SPACE_URL = re.compile(r"/spaces/(\d+)/$")


def _flat(text: str) -> str:
    """Text with its whitespace collapsed and typographic apostrophes made plain."""
    return " ".join(text.replace("\u2019", "'").split())


def _domain_in(chunk: str) -> str | None:
    found = [code for code, name in FRENCH.items() if _flat(name) in _flat(chunk)]
    assert len(found) <= 1, f"two domains between two codes: {found} in {chunk!r}"
    return found[0] if found else None


def holder_codes(text: str) -> dict[str, tuple[str, str]]:
    """Letter 1: per domain, (holder access code, revocation code), read in print order."""
    found: dict[str, list[str]] = {}
    current = None
    start = 0
    for match in CODE.finditer(text):
        chunk = text[start : match.start()]
        start = match.end()
        domain = _domain_in(chunk)
        if domain is not None:
            current = domain
            assert "accès titulaire" in _flat(chunk), chunk
            found[domain] = [match.group()]
        else:
            assert current is not None and "révocation" in _flat(chunk), chunk
            found[current].append(match.group())
    assert all(len(pair) == 2 for pair in found.values()), found
    return {domain: (pair[0], pair[1]) for domain, pair in found.items()}


def representative_codes(text: str) -> dict[str, str]:
    """Letter 2: per delegated domain, the representative access code."""
    found: dict[str, str] = {}
    start = 0
    for match in CODE.finditer(text):
        chunk = text[start : match.start()]
        start = match.end()
        domain = _domain_in(chunk)
        assert domain is not None, chunk
        flat = _flat(chunk)
        assert f"{SALARY} ({SALARY_NUMBER})" in flat and "Consultation" in flat, flat
        found[domain] = match.group()
    return found


def follow(page: Any, shots: Any, name: str, link: Any, url: str) -> None:
    """Click a link (a locator, or its accessible name) and screenshot the page it opens."""
    locator = page.get_by_role("link", name=link, exact=True) if isinstance(link, str) else link
    navigate(page, locator.click, url)
    shots(page, name)


def submit(page: Any, shots: Any, name: str, url: str, *, button: str = "Continue") -> None:
    """Press the page's button, and screenshot the page that answers."""
    navigate(page, page.get_by_role("button", name=button, exact=True).click, url)
    shots(page, name)


def proceed(page: Any, shots: Any, name: str, url: str, *, button: str = "Continue") -> None:
    """Submit a form that must be accepted: the next page has no error summary."""
    submit(page, shots, name, url, button=button)
    expect(page.locator(".error-summary")).to_have_count(0)


def login(page: Any, shots: Any, who: str) -> None:
    page.goto("/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    log_in(page, who, shots=shots)
    shots(page, f"{who} spaces")
    expect(page.get_by_role("heading", name="Your spaces")).to_be_visible()


def open_space(page: Any, shots: Any, who: str, name: str) -> int:
    """From the list of spaces, open one; returns its id."""
    follow(page, shots, f"{who} space", name, SPACE_URL.pattern)
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    match = SPACE_URL.search(page.url)
    assert match
    return int(match.group(1))


def space_tab(page: Any, shots: Any, who: str, tab: str) -> None:
    def link() -> Any:
        return page.get_by_role("navigation", name="Space").get_by_role(
            "link", name=tab, exact=True
        )

    url = {"Certifications": r"/certifications/$", "Clients": r"/clients/$"}.get(
        tab, SPACE_URL.pattern
    )
    follow(page, shots, f"{who} {tab.lower()}", link(), url)
    expect(link()).to_have_attribute("aria-current", "page")


def status_row(page: Any, domain: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=domain))


def choose_domain_and_kind(page: Any, shots: Any, who: str, domain: str, kind: str) -> None:
    """From the Certifications tab to the page where the codes are typed."""
    follow(
        page,
        shots,
        f"{who} add domain",
        "Add a certification with an access code",
        r"/certifications/add/$",
    )
    expect(page.get_by_role("heading", name="Which domain do you want to certify?")).to_be_visible()
    page.get_by_role("radio", name=re.compile(f"^{re.escape(ENGLISH[domain])}")).check()
    proceed(page, shots, f"{who} add {domain} kind", r"/certifications/add/kind/\?")
    name = "Primary mandate" if kind == "holder" else "Obtained mandate"
    page.get_by_role("radio", name=name).check()
    proceed(page, shots, f"{who} add {domain} codes", r"/certifications/add/code/\?")
    expect(page.get_by_role("heading", name="Enter the codes")).to_be_visible()


def add_certification(
    page: Any, shots: Any, who: str, *, domain: str, kind: str, code: str
) -> None:
    """From the Certifications tab: add one with an access code and the security code."""
    choose_domain_and_kind(page, shots, who, domain, kind)
    page.get_by_label("Access code").fill(code)
    page.get_by_label("Security code").fill(SECURITY_CODE)
    proceed(page, shots, f"{who} added {domain}", r"/added/$", button="Add the certification")
    expect(page.get_by_role("heading", name="Certification added")).to_be_visible()


def back_to_certifications(page: Any, shots: Any, who: str) -> None:
    follow(page, shots, f"{who} certifications", "Back to Certifications", r"/certifications/$")


def test_luxembourg_story(people: Any, shots: Any, tmp_path: Path) -> None:
    employer, agent, salary, visitor = (
        people("employer"),
        people("agent"),
        people("salary"),
        people("visitor"),
    )

    # 1. The employer files the certification request through every page.
    login(employer, shots, "employer")
    open_space(employer, shots, "employer", BOULANGERIE)
    space_tab(employer, shots, "employer", "Certifications")
    for name in ENGLISH.values():
        expect(status_row(employer, name)).to_contain_text("Not certified")
    follow(employer, shots, "request start", "Request access codes", r"/certification/request/$")
    expect(
        employer.get_by_role("heading", name="Request the certification of your space")
    ).to_be_visible()
    proceed(employer, shots, "request consent", r"/request/consent/$", button="Start now")
    employer.get_by_label("I have read this notice").check()
    proceed(employer, shots, "request filer", r"/request/filer/$")
    expect(employer.get_by_label("Full name")).to_have_value("Émile Boulanger")
    employer.get_by_label("Phone number").fill("+352 247 86 000")
    proceed(employer, shots, "request employer", r"/request/employer/$")
    employer.get_by_label("Employer number").fill(BOULANGERIE_NUMBER)
    employer.get_by_label("Employer name").fill(BOULANGERIE)
    proceed(employer, shots, "request has representative", r"/request/representative/$")
    employer.get_by_role("radio", name="Yes").check()
    proceed(employer, shots, "request same representative", r"/representative/same/$")
    employer.get_by_role("radio", name="Yes").check()
    proceed(employer, shots, "request domains", r"/representative/domains/$")
    for domain in DELEGATED:
        employer.get_by_role("checkbox", name=ENGLISH[domain]).check()
    expect(employer.get_by_role("checkbox", name=ENGLISH["BILLING"])).not_to_be_checked()
    proceed(employer, shots, "request representative", r"/representative/details/$")
    employer.get_by_label("Registration number").fill(SALARY_NUMBER)
    employer.get_by_label("Name", exact=True).fill(SALARY)
    employer.get_by_role("radio", name="Consultation").check()
    proceed(employer, shots, "request security code", r"/request/security-code/$")
    employer.get_by_label("Security code", exact=True).fill(SECURITY_CODE)
    employer.get_by_label("Type the security code again").fill(SECURITY_CODE)
    proceed(employer, shots, "request check", r"/request/check/$")
    summary = employer.locator("dl.summary-list")
    for domain in DELEGATED:
        expect(summary).to_contain_text(ENGLISH[domain])
    expect(summary).not_to_contain_text(ENGLISH["BILLING"])
    expect(summary).to_contain_text(f"{SALARY} ({SALARY_NUMBER})")
    follow(employer, shots, "request sign", "Confirm and sign", r"/request/sign/$")
    proceed(employer, shots, "request signed", r"/request/transmit/$", button="Sign the request")
    expect(employer.get_by_role("heading", name="Your request is signed")).to_be_visible()
    follow(employer, shots, "request confirm", "Send the request", r"/transmit/confirm/$")
    employer.get_by_label("Yes, send my request to the CCSS").check()
    proceed(employer, shots, "request sent", r"/request/sent/$", button="Send the request")
    expect(employer.get_by_role("heading", name="Request sent")).to_be_visible()
    reference = employer.locator(".panel strong").inner_text().strip()
    assert re.fullmatch(r"CR-\d+", reference), reference

    # 2. The agent issues the request, prints the batch and marks it as posted.
    login(agent, shots, "agent")
    agent.goto("/backoffice/")
    expect(agent.get_by_role("heading", name="Back-office")).to_be_visible()
    shots(agent, "backoffice home")
    follow(agent, shots, "backoffice requests", "Requests waiting", r"/backoffice/requests/")
    follow(agent, shots, "backoffice request", reference, r"/backoffice/requests/\d+/$")
    expect(agent.get_by_role("heading", name=f"Certification request {reference}")).to_be_visible()
    proceed(agent, shots, "backoffice issued", r"/requests/\d+/$", button="Issue the codes")
    expect(agent.get_by_role("status")).to_contain_text(f"The codes of {reference} are issued")
    follow(agent, shots, "backoffice letters", "Letters and dispatch", r"/backoffice/letters/$")
    expect(agent.get_by_text("2 letters are waiting for printing.")).to_be_visible()
    proceed(agent, shots, "backoffice batch", r"/letters/$", button="Create print batch")
    expect(agent.get_by_role("status")).to_contain_text("holds 2 letters")
    with agent.expect_download() as pdf_download:
        agent.get_by_role("link", name=re.compile(r"^Letters \(PDF\)")).click()
    batch_pdf = tmp_path / pdf_download.value.suggested_filename
    pdf_download.value.save_as(batch_pdf)
    with agent.expect_download() as csv_download:
        agent.get_by_role("link", name=re.compile(r"^Manifest \(CSV\)")).click()
    manifest_csv = tmp_path / csv_download.value.suggested_filename
    csv_download.value.save_as(manifest_csv)
    posted = agent.get_by_role("link", name=re.compile(r"^Mark as posted"))
    follow(agent, shots, "backoffice mark as posted", posted, r"/batches/\d+/posted/$")
    proceed(agent, shots, "backoffice posted", r"/letters/$", button="Mark as posted")
    expect(agent.get_by_role("status")).to_contain_text("is marked as posted")
    expect(agent.get_by_role("link", name=re.compile(r"^Letters \(PDF\)"))).to_have_count(0)

    # 3. The codes, read from the letters as printed (the manifest says which pages are which).
    reader = PdfReader(batch_pdf)
    manifest = list(csv.DictReader(io.StringIO(manifest_csv.read_text(encoding="utf-8"))))
    assert sorted(row["kind"] for row in manifest) == ["holder_codes", "representative_codes"]
    assert sum(int(row["pages"]) for row in manifest) == len(reader.pages)
    letters: dict[str, str] = {}
    for row in manifest:
        assert row["employer_number"] == BOULANGERIE_NUMBER
        first = int(row["first_page"]) - 1
        pages = reader.pages[first : first + int(row["pages"])]
        letters[row["kind"]] = "\n".join(page.extract_text() for page in pages)
    assert reference in letters["holder_codes"] and reference in letters["representative_codes"]
    holder = holder_codes(letters["holder_codes"])
    delegated = representative_codes(letters["representative_codes"])
    assert list(holder) == list(FRENCH), holder
    assert list(delegated) == DELEGATED, delegated
    every = [c for pair in holder.values() for c in pair] + list(delegated.values())
    assert len(set(every)) == 11

    # 4. The employer certifies its own space, domain by domain. Typos first: five of
    # them are each reported as a typo, and do not lock the code as five wrong tries would.
    employer.reload()  # the request page, once the letters arrived
    expect(employer.get_by_text("The access codes have been issued.")).to_be_visible()
    shots(employer, "request issued")
    follow(
        employer,
        shots,
        "employer certifications",
        "Go to the Certifications tab",
        r"/certifications/$",
    )
    choose_domain_and_kind(employer, shots, "employer", "AFFILIATIONS", "holder")
    access = holder["AFFILIATIONS"][0]
    typo = access[:3] + ("2" if access[3] != "2" else "3") + access[4:]
    for attempt in range(1, 6):
        employer.get_by_label("Access code").fill(typo)
        employer.get_by_label("Security code").fill(SECURITY_CODE)
        submit(
            employer,
            shots,
            f"employer typo {attempt}",
            r"/add/code/\?",
            button="Add the certification",
        )
        expect(employer.locator("#code-error")).to_have_text(
            "Error: This code contains a typing error. Check each character and try again. "
            "A typing error does not count as a wrong try."
        )
    employer.get_by_label("Access code").fill(access)
    employer.get_by_label("Security code").fill(SECURITY_CODE)
    proceed(
        employer, shots, "employer added AFFILIATIONS", r"/added/$", button="Add the certification"
    )
    expect(employer.get_by_role("status")).to_contain_text(
        f"Your space is now certified for {ENGLISH['AFFILIATIONS']}."
    )
    for domain in ["EMPLOYER", "REMUNERATIONS", "BILLING"]:
        back_to_certifications(employer, shots, "employer")
        add_certification(
            employer, shots, "employer", domain=domain, kind="holder", code=holder[domain][0]
        )
    back_to_certifications(employer, shots, "employer")
    for name in ENGLISH.values():
        expect(status_row(employer, name)).to_contain_text("Certified")
        expect(status_row(employer, name)).not_to_contain_text("Not certified")

    # 5. Salary certifies its space with the representative codes and the security code.
    login(salary, shots, "salary")
    open_space(salary, shots, "salary", SALARY)
    space_tab(salary, shots, "salary", "Certifications")
    expect(salary.get_by_role("link", name="Request access codes")).to_have_count(0)
    for domain in DELEGATED:
        add_certification(
            salary, shots, "salary", domain=domain, kind="representative", code=delegated[domain]
        )
        expect(salary.get_by_role("status")).to_contain_text(
            f"Your space now holds the mandate of {BOULANGERIE} for {ENGLISH[domain]}."
        )
        expect(salary.get_by_text("Level: consultation.")).to_be_visible()
        back_to_certifications(salary, shots, "salary")
    obtained = salary.get_by_role("table", name="Mandates obtained from clients")
    expect(obtained.get_by_role("row")).to_have_count(1 + len(DELEGATED))
    expect(obtained).not_to_contain_text(ENGLISH["BILLING"])

    # 6. Salary sees the employer among its clients, with consult-only rights.
    space_tab(salary, shots, "salary", "Clients")
    clients = salary.get_by_role("table", name=re.compile(r"^Clients, page 1 of 1"))
    expect(clients.get_by_role("row")).to_have_count(2)  # the header and Boulangerie
    expect(clients).to_contain_text(BOULANGERIE_NUMBER)
    follow(salary, shots, "salary client", BOULANGERIE, r"/clients/\d+/$")
    clients = salary.get_by_role("table", name=f"Mandates of {BOULANGERIE} held by this space")
    rows = clients.get_by_role("row")
    expect(rows).to_have_count(1 + len(DELEGATED))
    for domain in DELEGATED:
        row = rows.filter(has=salary.get_by_role("link", name=ENGLISH[domain], exact=True))
        expect(row.get_by_role("cell").nth(1)).to_have_text("Consult")
    expect(clients).not_to_contain_text(ENGLISH["BILLING"])
    link = clients.get_by_role("link", name=ENGLISH["AFFILIATIONS"], exact=True)
    follow(salary, shots, "salary domain AFFILIATIONS", link, r"/domains/AFFILIATIONS/$")
    expect(salary.get_by_text("You may consult.")).to_be_visible()
    expect(salary.get_by_text("Not with your level").first).to_be_visible()
    response = salary.goto(salary.url.replace("/AFFILIATIONS/", "/BILLING/"))
    assert response is not None and response.status == 404
    shots(salary, "salary domain BILLING not found")

    # 7. The employer revokes AFFILIATIONS with its revocation code, without logging in.
    visitor.goto("/revoke/")
    expect(visitor.get_by_role("heading", name="Revoke a certification")).to_be_visible()
    visitor.get_by_label("Revocation code").fill(holder["AFFILIATIONS"][1])
    shots(visitor, "revoke")
    proceed(visitor, shots, "revoke confirm", r"/revoke/$")
    question = f"Revoke the certification of {BOULANGERIE} for {ENGLISH['AFFILIATIONS']}?"
    expect(visitor.get_by_role("heading", name=question)).to_be_visible()
    proceed(
        visitor, shots, "revoke done", r"/revoke/done/$", button="Yes, revoke the certification"
    )
    expect(visitor.get_by_role("heading", name="Certification revoked")).to_be_visible()

    employer.reload()
    expect(status_row(employer, ENGLISH["AFFILIATIONS"])).to_contain_text("Not certified")
    for domain in ["EMPLOYER", "REMUNERATIONS", "BILLING"]:
        expect(status_row(employer, ENGLISH[domain])).to_contain_text("Certified")
        expect(status_row(employer, ENGLISH[domain])).not_to_contain_text("Not certified")
    shots(employer, "employer certifications after revocation")


def test_representative_space_typo_and_refusal(people: Any, shots: Any) -> None:
    """A representative's space: a typo is reported as one; the request wizard refuses it."""
    salary = people("salary")
    login(salary, shots, "salary")
    space_id = open_space(salary, shots, "salary", SALARY)
    space_tab(salary, shots, "salary", "Certifications")
    choose_domain_and_kind(salary, shots, "salary", "AFFILIATIONS", "representative")
    code = codes.display(codes.generate())
    typo = code[:5] + ("2" if code[5] != "2" else "3") + code[6:]
    salary.get_by_label("Access code").fill(typo.lower())
    salary.get_by_label("Security code").fill(SECURITY_CODE)
    submit(salary, shots, "salary typo", r"/add/code/\?", button="Add the certification")
    expect(salary.get_by_role("alert")).to_contain_text("There is a problem")
    expect(salary.locator("#code-error")).to_contain_text(
        "This code contains a typing error. Check each character and try again. "
        "A typing error does not count as a wrong try."
    )
    expect(salary.get_by_label("Access code")).to_have_value(typo.lower())

    # A representative may not file a certification request: the wizard says so.
    response = salary.goto(f"/spaces/{space_id}/certification/request/")
    assert response is not None and response.status == 403
    expect(
        salary.get_by_role("heading", name="This space cannot file a certification request")
    ).to_be_visible()
    expect(salary.locator("#refusal")).to_contain_text("Only an employer's own professional space")
    shots(salary, "salary request refused")
