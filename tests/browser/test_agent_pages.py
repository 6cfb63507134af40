"""The institution agent's back-office, in Chromium: counters, the registry, an employer's
audit trail, and the request queue. Every page is screenshotted and checked with axe-core."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from mandat.core import audit
from tests.browser.test_story import follow, login, proceed, submit

NUMBER = "19551234567"
NAME = "Menuiserie Browser S.à r.l."


def test_agent_back_office(people: Any, shots: Any, tmp_path: Path) -> None:
    agent = people("agent")
    login(agent, shots, "agent")

    # The home: three counters, each linked to where the work is.
    agent.goto("/backoffice/")
    expect(agent.get_by_role("heading", name="Back-office", exact=True)).to_be_visible()
    expect(agent.get_by_role("link", name="Requests waiting", exact=True)).to_be_visible()
    expect(agent.get_by_role("link", name="Letters to print", exact=True)).to_be_visible()
    expect(agent.get_by_role("link", name="Codes expiring within 7 days")).to_be_visible()
    expect(agent.locator(".count")).to_have_count(3)
    shots(agent, "home with counters")

    # The registry: the demo's 5,000 employers, searched by name.
    follow(agent, shots, "registry", "Registry", r"/backoffice/registry/$")
    expect(agent.get_by_role("status").first).to_contain_text("entries in the registry")
    agent.get_by_label("Name or number").fill("salary")
    submit(agent, shots, "registry search", r"/registry/\?q=salary", button="Search")
    expect(agent.get_by_text("1 result for “salary”.")).to_be_visible()
    expect(agent.get_by_role("link", name="Salary S.A.", exact=True)).to_be_visible()

    # Register an employer and its organisation in one page.
    follow(agent, shots, "register an employer", "Register an employer", r"/employers/new/$")
    agent.get_by_label("Organisation identifier").fill(NUMBER)
    agent.get_by_label("Employer number").fill(NUMBER)
    agent.get_by_label("Name", exact=True).fill(NAME)
    agent.get_by_label("Address", exact=True).fill("4, rue des Artisans")
    agent.get_by_label("Postcode").fill("9515")
    agent.get_by_label("City").fill("Wiltz")
    agent.get_by_label("Correspondence language").select_option("de")
    proceed(
        agent, shots, "employer registered", r"/employers/\d+/$", button="Register the employer"
    )
    expect(agent.get_by_role("status").first).to_contain_text("registered, with its organisation")
    expect(agent.get_by_role("heading", name=NAME)).to_be_visible()

    # Correct it: a validation error first, with the input kept, then the correction.
    follow(agent, shots, "correct employer", "Correct the name, address or language", r"/edit/$")
    agent.get_by_label("Name", exact=True).fill("")
    agent.get_by_label("City").fill("Clervaux")
    submit(agent, shots, "correction refused", r"/edit/$", button="Save the correction")
    summary = agent.get_by_role("alert")
    expect(summary).to_contain_text("Enter the employer's name.")
    expect(agent.get_by_label("City")).to_have_value("Clervaux")
    summary.get_by_role("link").click()
    expect(agent.get_by_label("Name", exact=True)).to_be_focused()
    agent.get_by_label("Name", exact=True).fill("Menuiserie Clervaux S.à r.l.")
    proceed(agent, shots, "employer corrected", r"/employers/\d+/$", button="Save the correction")
    expect(agent.get_by_role("status").first).to_contain_text(
        "The registry entry of Menuiserie Clervaux S.à r.l. is corrected."
    )

    # Its audit trail: the two events, the chain check, and the export.
    follow(agent, shots, "audit trail", "Audit trail of this employer", r"/audit/$")
    expect(agent.get_by_text("2 events.")).to_be_visible()
    expect(agent.get_by_role("cell", name="registry.employer_updated")).to_be_visible()
    submit(agent, shots, "chain verified", r"/audit/verify/$", button="Verify chain")
    expect(agent.locator(".panel")).to_contain_text("The audit chain is intact")
    with agent.expect_download() as download:
        agent.get_by_role("link", name="Download the employer's export (JSON)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"audit-employer-{NUMBER}.json"
    document = json.loads(path.read_text())
    assert audit.verify_export(document).ok
    shown = [link["event"]["action"] for link in document["links"] if "event" in link]
    assert shown == ["registry.employer_registered", "registry.employer_updated"]

    # The request queue.
    follow(agent, shots, "request queue", "Certification requests", r"/backoffice/requests/$")
    expect(agent.get_by_role("heading", name="Certification requests")).to_be_visible()
    assert re.search(r"\d+ requests?\.", agent.locator("main").inner_text())
