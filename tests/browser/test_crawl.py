"""Every page each person can reach by following links: accessible, and usable at 320 px.

For each role the crawler logs in, then follows every same-site link it finds, breadth
first, on a phone-sized screen (320 CSS pixels wide). One address per *shape* is opened:
``/spaces/3/clients/17/`` and ``/spaces/3/clients/18/`` are one shape, and so are two
pages of a list, so a firm's 5,000 clients cost one visit. On every page:

- the server answers without an error (below 400);
- axe-core finds no WCAG 2.1 A or AA violation (through ``shots``);
- nothing is wider than the screen: the page never scrolls sideways (WCAG 1.4.10, reflow);
- the browser refuses nothing the page asks for (no Content Security Policy violation) and
  reports no script error.

The pages each role must reach are listed too, so a page that silently lost its link
fails the test instead of shrinking it.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

#: Links the crawler does not follow: downloads, leaving, and the Django admin.
SKIP = re.compile(r"(\.pdf|\.csv|\.json)$|^/(logout|admin|i18n)/|/export")
#: A safety net: no role has this many shapes of page.
MAX_PAGES = 60

_SPACE = r"^/spaces/\d+/"
_SPACE_PAGES = [rf"{_SPACE}$", rf"{_SPACE}profile/$", rf"{_SPACE}members/$", rf"{_SPACE}inbox/$"]
_REGISTRY = r"^/backoffice/registry/"
ROLES: dict[str, list[str]] = {
    # role: address shapes (regular expressions on the path) that must be among those reached
    "employer": [
        r"^/$",
        *_SPACE_PAGES,
        rf"{_SPACE}certifications/$",
        rf"{_SPACE}certifications/add/$",
        rf"{_SPACE}certification/request/$",
        rf"{_SPACE}given/$",
        rf"{_SPACE}members/add/$",
        rf"{_SPACE}api-clients/$",
    ],
    "salary": [r"^/$", *_SPACE_PAGES, rf"{_SPACE}clients/$", rf"{_SPACE}api-clients/$"],
    "salary-clerk": [r"^/$", *_SPACE_PAGES, rf"{_SPACE}clients/$"],
    "fiduciary": [
        r"^/$",
        *_SPACE_PAGES,
        rf"{_SPACE}clients/$",
        rf"{_SPACE}clients/\d+/$",
        rf"{_SPACE}clients/\d+/mandates/\d+/renounce/$",
        r"^/spaces/\d+/employers/\d+/domains/[A-Z]+/$",
    ],
    "agent": [
        r"^/backoffice/$",
        r"^/backoffice/requests/$",
        r"^/backoffice/letters/$",
        rf"{_REGISTRY}$",
        rf"{_REGISTRY}employers/\d+/$",
        rf"{_REGISTRY}employers/\d+/audit/$",
        rf"{_REGISTRY}employers/new/$",
    ],
}


def shape(url: str) -> str:
    """The address with its numbers and query values blanked: one visit per shape."""
    parts = urlsplit(url)
    path = re.sub(r"\d+", "N", parts.path)
    names = sorted({name for name, _value in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(names) if names else "")


def links_on(page: Any, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def assert_reflows(page: Any) -> None:
    overflow = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > width + 1)
            .filter(el => !el.closest('.skip-link'))
            .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                 + (typeof el.className === 'string' && el.className
                    ? '.' + el.className.split(' ').join('.') : ''));
          return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
        }"""
    )
    assert overflow["scroll"] <= overflow["width"], (
        f"{page.url} scrolls sideways at {overflow['width']} px "
        f"(content {overflow['scroll']} px wide): {overflow['wide']}"
    )


def _note_complaint(complaints: list[str], message: Any) -> None:
    """Keep what the browser says about a refused resource (e.g. a CSP violation)."""
    text = message.text
    if message.type == "error" and ("Content Security Policy" in text or "Refused" in text):
        complaints.append(text)


def login(page: Any, who: str) -> None:
    log_in(page, who)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


@pytest.mark.parametrize("role", list(ROLES))
def test_every_reachable_page(role: str, browser: Any, mandat_server: Any, shots: Any) -> None:
    context = browser.new_context(
        locale="en", viewport={"width": 320, "height": 720}, base_url=mandat_server.base_url
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    complaints: list[str] = []
    page.on("console", lambda message: _note_complaint(complaints, message))
    page.on("pageerror", lambda error: complaints.append(f"script error: {error}"))
    try:
        login(page, role)
        start = "/backoffice/" if role == "agent" else "/"
        queue = deque([start])
        seen = {shape(start)}
        visited: list[str] = []
        while queue and len(visited) < MAX_PAGES:
            address = queue.popleft()
            answer = page.goto(address)
            status = answer.status if answer is not None else None
            assert status is not None and status < 400, f"{address} answers {status}"
            visited.append(urlsplit(page.url).path)
            shots(page, f"{role} {address}")
            assert_reflows(page)
            assert not complaints, f"{address}: the browser complains: {complaints}"
            for link in links_on(page, mandat_server.base_url):
                key = shape(link)
                if key not in seen:
                    seen.add(key)
                    queue.append(link)
        assert len(visited) < MAX_PAGES, f"more than {MAX_PAGES} shapes of page: {sorted(seen)}"
        for expected in ROLES[role]:
            assert any(re.search(expected, path) for path in visited), (
                f"{role} never reached {expected}; visited {visited}"
            )
    finally:
        context.close()


def test_anonymous_pages(browser: Any, mandat_server: Any, shots: Any) -> None:
    context = browser.new_context(
        locale="en", viewport={"width": 320, "height": 720}, base_url=mandat_server.base_url
    )
    page = context.new_page()
    try:
        for address in ["/login/", "/revoke/", "/nowhere/"]:
            page.goto(address)
            shots(page, f"anonymous {address}")
            assert_reflows(page)
    finally:
        context.close()


def test_the_shape_of_an_address() -> None:
    assert shape("/spaces/3/clients/17/") == shape("/spaces/12/clients/9/")
    assert shape("/spaces/3/clients/?page=2&q=a") == shape("/spaces/3/clients/?q=b&page=9")
    assert shape("/spaces/3/clients/") != shape("/spaces/3/clients/?page=2")
