"""The accessibility check every browser test relies on can fail."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import axe_violations, describe_violations, new_page


def test_axe_reports_the_violations_of_a_broken_page(browser: Any) -> None:
    page = new_page(browser)
    try:
        page.set_content(
            "<html><head><title>t</title></head><body>"
            '<img src="data:,"><a href="#"></a>'
            '<p style="color:#aaa;background:#fff">pale text</p></body></html>'
        )
        found = {violation["id"] for violation in axe_violations(page)}
    finally:
        page.context.close()
    assert {"html-has-lang", "image-alt", "link-name", "color-contrast"} <= found


def test_axe_passes_a_clean_page(browser: Any) -> None:
    page = new_page(browser)
    try:
        page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main>'
            "<h1>Title</h1><p>Readable text.</p></main></body></html>"
        )
        violations = axe_violations(page)
    finally:
        page.context.close()
    assert violations == [], describe_violations(violations)
