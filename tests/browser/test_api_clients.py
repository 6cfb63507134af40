"""API clients in Chromium: Salary's administrator registers two clients, one with a pasted
public key and one with a secret (shown once), then revokes one."""

from __future__ import annotations

import json
import re
from typing import Any

from joserfc.jwk import OKPKey
from playwright.sync_api import expect

from tests.browser.conftest import log_in


def _submit(page: Any, shots: Any, name: str, button: str, url: str) -> None:
    page.get_by_role("button", name=button).click()
    expect(page).to_have_url(re.compile(url))
    shots(page, name)


def test_salary_registers_and_revokes_api_clients(people: Any, shots: Any) -> None:
    page = people("salary")
    log_in(page, "salary")
    page.get_by_role("link", name="Salary S.A.").first.click()
    expect(page).to_have_url(re.compile(r"/spaces/\d+/$"))
    page.get_by_role("link", name="API clients").click()
    expect(page).to_have_url(re.compile(r"/api-clients/$"))
    expect(page.locator("main")).to_contain_text("This space has no API client yet.")
    shots(page, "api clients empty")

    # A mistake first: nothing chosen, a symmetric key pasted. The errors link to their fields.
    page.get_by_role("link", name="Register an API client").click()
    shots(page, "register")
    page.get_by_label("Name of the software").fill("PayrollPro")
    page.get_by_label("With a public key (recommended)").check()
    page.get_by_label("Public key (JWK)").fill('{"kty": "oct", "k": "c2VjcmV0"}')
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Choose at least one domain and action.")
    expect(summary).to_contain_text("Use an RSA (2048 bits or more), EC P-256 or Ed25519")
    expect(page.get_by_label("Name of the software")).to_have_value("PayrollPro")
    shots(page, "register errors")

    # With a public key
    key = OKPKey.generate_key("Ed25519", private=False)
    page.get_by_label("Employee affiliations – Act").check()
    page.get_by_label("Employer general data – Consult").check()
    page.get_by_label("Public key (JWK)").fill(json.dumps(key.as_dict(private=False)))
    _submit(page, shots, "check with a key", "Continue", r"/register/check/$")
    expect(page.locator("main")).to_contain_text("With a public key (OKP)")
    _submit(page, shots, "registered with a key", "Register the client", r"/api-clients/\d+/$")
    expect(page.get_by_role("status")).to_contain_text("API client registered")
    expect(page.locator("main")).not_to_contain_text("Client secret")

    # With a secret, shown once
    page.get_by_role("link", name="Back to API clients").click()
    page.get_by_role("link", name="Register an API client").click()
    page.get_by_label("Name of the software").fill("Old bookkeeping tool")
    page.get_by_label("Billing and accounting – Consult").check()
    page.get_by_label("With a client secret (weaker)").check()
    _submit(page, shots, "check with a secret", "Continue", r"/register/check/$")
    _submit(page, shots, "registered with a secret", "Register the client", r"/api-clients/\d+/$")
    secret = page.locator("#client-secret").inner_text()
    assert secret.startswith("mcs_") and len(secret) > 40
    page.reload()
    expect(page.locator("main")).to_contain_text("cannot be shown again")
    assert secret not in page.content()
    shots(page, "secret gone")

    # Revoke the weaker one, with a confirmation that says what stops working
    page.get_by_role("link", name="Back to API clients").click()
    table = page.get_by_role("table", name="API clients of this space")
    expect(table).to_contain_text("PayrollPro")
    shots(page, "api clients listed")
    page.get_by_role("link", name="Revoke Old bookkeeping tool").click()
    expect(page.locator("main")).to_contain_text("stops working at once")
    shots(page, "revoke confirmation")
    _submit(page, shots, "revoked", "Yes, revoke the client", r"/api-clients/\?revoked=\d+$")
    expect(page.get_by_role("status")).to_contain_text("Client revoked")
    row = table.get_by_role("row").filter(has_text="Old bookkeeping tool")
    expect(row).to_contain_text("Revoked")
    expect(table.get_by_role("row").filter(has_text="PayrollPro")).to_contain_text("Active")
