"""A whole flow with the keyboard alone: log in, file and send a certification request.

Locators only say *where* the focus must arrive; every action is a key press (Tab,
Shift+Tab, arrows, Space, Enter, typing). Each time an element takes the focus, the
test checks that the focus is visible (an outline or a ring that is not transparent).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from mandat.demo import BOULANGERIE_NUMBER
from tests.browser.conftest import log_in

BOULANGERIE = "Boulangerie Demo S.à r.l."
#: More Tab presses than any page here needs to reach its last control.
MAX_TABS = 80

_FOCUS_RING = """el => {
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
    && style.outlineColor !== 'rgba(0, 0, 0, 0)' && style.outlineColor !== 'transparent';
  const ring = style.boxShadow && style.boxShadow !== 'none';
  return outline || ring;
}"""


def _is_focused(locator: Any) -> bool:
    return bool(locator.evaluate("el => el === document.activeElement"))


def tab_to(page: Any, target: Any, *, backwards: bool = False) -> None:
    """Press Tab until the target has the focus, and check that the focus shows."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if _is_focused(target):
            assert target.evaluate(_FOCUS_RING), f"the focus on {target} is not visible"
            return
    raise AssertionError(f"{MAX_TABS} presses of {key} never reached {target}")


def activate(page: Any, target: Any, *, key: str = "Enter") -> None:
    """Reach a link or a button with Tab and press it: wait for the page it loads."""
    tab_to(page, target)
    # The navigation itself, not a polled page variable: see conftest.navigate.
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press(key)


def type_into(page: Any, field: Any, text: str) -> None:
    tab_to(page, field)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def choose(page: Any, radio_group: Any, option: Any) -> None:
    """Tab into a radio group, then move with the arrow keys until the option is chosen."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if radio_group.evaluate("g => g.contains(document.activeElement)"):
            break
    else:
        raise AssertionError("the radio group never took the focus")
    for _ in range(10):
        if _is_focused(option):
            page.keyboard.press("Space")
            break
        page.keyboard.press("ArrowDown")
    expect(option).to_be_checked()


def start_of_page(page: Any) -> None:
    """Put the keyboard at the top of the page, as a fresh page load does."""
    page.evaluate("document.activeElement && document.activeElement.blur()")


def test_keyboard_only_certification_request(people: Any, shots: Any) -> None:
    page = people("keyboard")
    page.goto("/login/")
    start_of_page(page)

    # The skip link is the first stop, and it shows.
    tab_to(page, page.get_by_role("link", name="Skip to main content"))
    # Username, password, then the authenticator code, each form sent with Enter.
    log_in(page, "employer", shots=shots, keyboard=True)
    expect(page.get_by_role("heading", name="Your spaces")).to_be_visible()
    shots(page, "keyboard spaces")

    activate(page, page.get_by_role("link", name=BOULANGERIE, exact=True))
    expect(page.get_by_role("heading", level=1, name=BOULANGERIE)).to_be_visible()
    tabs = page.get_by_role("navigation", name="Space")
    activate(page, tabs.get_by_role("link", name="Certifications"))
    shots(page, "keyboard certifications")
    activate(page, page.get_by_role("link", name="Request access codes"))
    activate(page, page.get_by_role("button", name="Start now"))

    consent = page.get_by_label("I have read this notice")
    tab_to(page, consent)
    page.keyboard.press("Space")
    expect(consent).to_be_checked()
    activate(page, page.get_by_role("button", name="Continue", exact=True))

    expect(page.get_by_label("Full name")).to_have_value("Émile Boulanger")
    type_into(page, page.get_by_label("Phone number"), "+352 247 86 000")
    activate(page, page.get_by_role("button", name="Continue", exact=True))

    # A mistake first: the error summary takes the focus and links to the field.
    type_into(page, page.get_by_label("Employer number"), BOULANGERIE_NUMBER)
    activate(page, page.get_by_role("button", name="Continue", exact=True))
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    shots(page, "keyboard employer error")
    error_link = summary.get_by_role("link").first
    tab_to(page, error_link)
    page.keyboard.press("Enter")
    # One answer for unknown and mismatching: the link leads to the number, kept as typed.
    number_field = page.get_by_label("Employer number")
    expect(number_field).to_be_focused()
    expect(number_field).to_have_value(BOULANGERIE_NUMBER)
    type_into(page, page.get_by_label("Employer name"), BOULANGERIE)
    activate(page, page.get_by_role("button", name="Continue", exact=True))

    question = page.get_by_role("heading", name=re.compile("authorised representative"))
    expect(question).to_be_visible()
    group = page.get_by_role("group").filter(has=page.get_by_role("radio", name="No"))
    choose(page, group, page.get_by_role("radio", name="No"))
    activate(page, page.get_by_role("button", name="Continue", exact=True))

    type_into(page, page.get_by_label("Security code", exact=True), "Clavier-26")
    type_into(page, page.get_by_label("Type the security code again"), "Clavier-26")
    activate(page, page.get_by_role("button", name="Continue", exact=True))
    expect(page.locator("dl.summary-list")).to_contain_text(BOULANGERIE_NUMBER)
    shots(page, "keyboard check answers")

    activate(page, page.get_by_role("link", name="Confirm and sign"))
    activate(page, page.get_by_role("button", name="Sign the request"))
    expect(page.get_by_role("heading", name="Your request is signed")).to_be_visible()
    activate(page, page.get_by_role("link", name="Send the request"))
    confirm = page.get_by_label("Yes, send my request to the CCSS")
    tab_to(page, confirm)
    page.keyboard.press("Space")
    activate(page, page.get_by_role("button", name="Send the request"))
    expect(page.get_by_role("heading", name="Request sent")).to_be_visible()
    shots(page, "keyboard request sent")
    assert re.fullmatch(r"CR-\d+", page.locator(".panel strong").inner_text().strip())
