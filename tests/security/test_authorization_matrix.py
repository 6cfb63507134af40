"""The authorization matrix: every portal URL and API operation, for every role.

Each line of ``PORTAL`` and ``API`` is one endpoint, with the expected outcome for each
role, in the order of ``ROLES`` (``tests.security._world`` describes who they are):

    anon   nobody logged in, no token
    other  administrator of an unrelated space
    restr  collaborator of the act representative's space, restricted away from the employer
    cons   administrator of a representative's space with a CONSULT mandate from the employer
    act    administrator of a representative's space with an ACT mandate from the employer
    admin  administrator of the employer's own space
    agent  institution back-office agent (no space, no API client)

Outcomes:

    A  allowed: 2xx, or a 3xx that is not a redirect to the login page
    D  denied: 403 or 404 (the same answer as for a missing thing), never 2xx or 3xx
    L  login first: a redirect to the login page (portal), 401 (API)
    -  not applicable: no request (the agent has no API client for the token API)

For the token API a role is an API client of the role's space with every scope, and its
bearer token; the restricted collaborator's space is the act representative's, so its
client is the act representative's (a client acts as its space, not as one member). The
session endpoints of the API (certification) take the role's logged-in session.

URL arguments are filled by name from the world (``DEFAULT_AT``, or a line's ``at``):
``employer_space`` is the employer's own space, ``act_space`` the act representative's,
``own_space`` the role's own space (anon and the agent try the employer's), and
``own_mandate`` the mandate the role's space holds from the employer (AFFILIATIONS);
``sister_space`` is the space of another employer that ``admin`` also administers, whose
issued request's letter gives the real codes the code endpoints need.
A GET is sent for every line that answers GET, a POST (an empty or harmless body) for
every line that changes something. Each role's requests run in a savepoint undone after
them, after the line's ``prepare`` (for example, reopening the signed request so its
draft pages answer).

A new URL or operation without a line fails ``test_the_table_covers_every_endpoint``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import string
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponseBase
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mandat.accounts import assurance
from mandat.api.api import api
from mandat.certification import services as certification
from mandat.mandates import services as mandate_services
from mandat.mandates.models import MandateKind
from tests import factories
from tests.api._oauth import ASSERTION_TYPE, assertion
from tests.security import _world
from tests.security._world import ROLES, World, rolled_back

Prepare = Callable[[World, str], None]
Body = Callable[[World, str], dict[str, Any]] | dict[str, Any] | None


@dataclass(frozen=True)
class Line:
    methods: tuple[str, ...]
    cells: dict[str, str]
    at: dict[str, str] = field(default_factory=dict)
    body: Body = None
    prepare: Prepare | None = None
    query: str = ""
    form: bool = False  # the API body is a form, not JSON (the OAuth token endpoint)
    refusals: frozenset[int] = frozenset()  # statuses that also count as D for this line
    #: Statuses that also count as A: an empty form refused as invalid input, which the
    #: view answers only once the person passed its access check.
    also: frozenset[int] = frozenset()
    ends_at_login: bool = False  # logging out: the redirect to the login page is success
    #: For an API answer: fields its JSON body must hold, by role (the policy's own answer).
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)


def line(methods: str, cells: str, *, also: str = "", **options: Any) -> Line:
    """A line of the table; ``also="400 422"`` names ``Line.also``."""
    if also:
        options["also"] = frozenset(int(status) for status in also.split())
    codes = cells.split()
    assert len(codes) == len(ROLES), f"{cells!r}: one outcome per role"
    assert set(codes) <= {"A", "D", "L", "-"}, f"{cells!r}: unknown outcome"
    return Line(
        methods=tuple(methods.split()), cells=dict(zip(ROLES, codes, strict=True)), **options
    )


# --- what some lines do first ---------------------------------------------------------------


def reopen(world: World, role: str) -> None:
    """The signed request back to a draft, so the draft's pages and PUTs can answer."""
    certification.request_reopen(by=world.users["admin"], request=world.open_request)


def renounce_own(world: World, role: str) -> None:
    """The role's space gives its mandate up, as its administrator would."""
    mandate = world.own_mandate(role)
    if mandate is not None and mandate.kind == MandateKind.OBTAINED:
        by = world.users["consult" if mandate == world.consult_mandate else "act"]
        mandate_services.mandate_renounce(by=by, mandate=mandate)


def revoke_given(world: World, role: str) -> None:
    mandate_services.mandate_revoke(by=world.users["admin"], mandate=world.act_mandate)


# --- bodies -----------------------------------------------------------------------------------


def check_body(world: World, role: str) -> dict[str, Any]:
    return {"employer": world.employer.employer_number, "domain": "AFFILIATIONS", "action": "act"}


def token_body(world: World, role: str) -> dict[str, Any]:
    client = world.clients.get(role)
    if client is None:
        return {"grant_type": "client_credentials"}
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(client),
    }


def filer_body(world: World, role: str) -> dict[str, Any]:
    return {"name": "Anne Schmit", "email": "anne@example.test", "phone": "+352 621 123 456"}


def employer_body(world: World, role: str) -> dict[str, Any]:
    return {
        "employer_number": world.employer.employer_number,
        "employer_name": world.employer.name,
    }


def security_body(world: World, role: str) -> dict[str, Any]:
    code = world.extra["security_code"]
    return {"security_code": code, "confirmation": code}


def redeem_body(world: World, role: str) -> dict[str, Any]:
    return {
        "domain": "EMPLOYER",
        "kind": "holder",
        "code": world.codes[("EMPLOYER", "holder")],
        "security_code": world.extra["security_code"],
    }


def revocation_body(world: World, role: str) -> dict[str, Any]:
    return {"code": world.codes[("AFFILIATIONS", "revocation")]}


MADE_UP = {"access_code": "AAAA-BBBB-CCCC-DDDD", "security_code": "Not-the-one"}


def csv_body(world: World, role: str) -> dict[str, Any]:
    text = f"access_code;security_code\n{MADE_UP['access_code']};{MADE_UP['security_code']}\n"
    return {"file": SimpleUploadedFile("codes.csv", text.encode(), content_type="text/csv")}


# --- the table ----------------------------------------------------------------------------------

#: How URL arguments are filled unless a line says otherwise (``World.value``).
DEFAULT_AT = {
    "space_id": "employer_space",
    "employer_id": "employer",
    "notice_id": "notice",
    "delivery_id": "delivery",
    "membership_id": "colleague",
    "mandate_id": "primary_mandate",
    "request_id": "open_request",
    "domain_code": "AFFILIATIONS",
    "client_pk": "api_client",
    "letter_id": "letter",
    "batch_id": "batch",
    "representative_id": "act_representative",
}
OWN = {"space_id": "own_space"}
OWN_MANDATE = {"space_id": "own_space", "mandate_id": "own_mandate"}
GIVEN = {"mandate_id": "act_mandate"}
QUEUED = {"request_id": "queued_request"}
SISTER = {"space_id": "sister_space"}
KEY = {"key": "=made-up-key", "uidb36": "=1"}
ENGLISH = {"language": "en"}
EID = {"provider_id": "=eid"}
PASSKEY = {"pk": "=999999"}  # nobody's passkey
#: May the role's space act for the employer in AFFILIATIONS? (``POST /check``)
MAY_ACT = {
    "other": {"allowed": False},
    "restricted": {"allowed": True},  # its space's client: the space may
    "consult": {"allowed": False},  # consult only
    "act": {"allowed": True},
    "admin": {"allowed": True},  # the employer's own primary mandate
}

# fmt: off
#                                                 methods     anon other restr cons act admin agent
PORTAL: dict[str, Line] = {
    # the accounts (allauth, mandat.accounts)
    "login":                                line("GET POST",  "A A A A A A A", also="400"),
    "logout":                               line("POST",      "A A A A A A A", ends_at_login=True),
    "account_login":                        line("GET POST",  "A A A A A A A", also="400"),
    "account_logout":                       line("POST",      "A A A A A A A", ends_at_login=True),
    "account_signup":                       line("GET POST",  "A A A A A A A", also="400"),
    "account_inactive":                     line("GET",       "A A A A A A A"),
    "account_email_verification_sent":      line("GET",       "A A A A A A A"),
    # a made-up key: the page says so (GET); there is nothing to confirm (POST)
    "account_confirm_email":                line("GET POST",  "A A A A A A A", at=KEY, also="404"),
    # without a login under way, back to the login page
    "account_confirm_login_code":           line("GET POST",  "L A A A A A A"),
    "account_reset_password":               line("GET POST",  "A A A A A A A", also="400"),
    "account_reset_password_done":          line("GET",       "A A A A A A A"),
    "account_reset_password_from_key":      line("GET POST",  "A A A A A A A", at=KEY),
    "account_reset_password_from_key_done": line("GET",       "A A A A A A A"),
    "account_reauthenticate":               line("GET POST",  "L A A A A A A", also="400"),
    "account_email":                        line("GET POST",  "L A A A A A A", also="400"),
    "account_change_password":              line("GET POST",  "L A A A A A A", also="400"),
    "account_set_password":                 line("GET POST",  "L A A A A A A", also="400"),
    "accounts:security":                    line("GET",       "L A A A A A A"),
    "accounts:step_up":                     line("GET",       "L A A A A A A"),
    "accounts:logout_everywhere":           line("POST",      "L A A A A A A", ends_at_login=True),
    # OIDC is off in the tests (no MANDAT_OIDC_ISSUER): there is no provider to answer
    "accounts:oidc_callback":               line("GET",       "D D D D D D D", at=EID),
    "mfa_index":                            line("GET",       "L A A A A A A"),
    "mfa_authenticate":                     line("GET POST",  "L A A A A A A"),
    # confirming a second factor: only the admin has one, anyone else is refused (403)
    "mfa_reauthenticate":                   line("GET POST",  "L D D D D A D", also="400"),
    "mfa_activate_totp":                    line("GET POST",  "L A A A A A A", also="400"),
    # only the admin has TOTP and recovery codes: anyone else's are missing (404)
    "mfa_deactivate_totp":                  line("GET POST",  "L D D D D A D", also="400"),
    "mfa_view_recovery_codes":              line("GET",       "L D D D D A D"),
    "mfa_generate_recovery_codes":          line("GET POST",  "L A A A A A A", also="400"),
    "mfa_download_recovery_codes":          line("GET",       "L D D D D A D"),
    "mfa_list_webauthn":                    line("GET",       "L A A A A A A"),
    "mfa_add_webauthn":                     line("GET POST",  "L A A A A A A", also="400"),
    "mfa_reauthenticate_webauthn":          line("GET POST",  "L D D D D A D", also="400"),
    # a passkey that is not the person's is missing
    "mfa_edit_webauthn":                    line("GET POST",  "L D D D D D D", at=PASSKEY),
    "mfa_remove_webauthn":                  line("GET POST",  "L D D D D D D", at=PASSKEY),
    "socialaccount_connections":            line("GET POST",  "L A A A A A A", also="400"),
    "socialaccount_signup":                 line("GET POST",  "L L L L L L L"),
    "socialaccount_login_cancelled":        line("GET",       "A A A A A A A"),
    "socialaccount_login_error":            line("GET",       "A A A A A A A", also="401"),
    "accounts/social/connections/":         line("GET",       "A A A A A A A"),
    "accounts/social/signup/":              line("GET",       "A A A A A A A"),
    "accounts/social/login/cancelled/":     line("GET",       "A A A A A A A"),
    "accounts/social/login/error/":         line("GET",       "A A A A A A A"),
    "openid_connect_login":                 line("GET POST",  "D D D D D D D", at=EID),
    "openid_connect_callback":              line("GET",       "D D D D D D D", at=EID),
    # the portal
    "portal:home":                          line("GET",       "L A A A A A A"),
    "portal:language":                      line("POST",      "A A A A A A A", body=ENGLISH),
    "portal:space":                         line("GET",       "L D D D D A D"),
    "portal:notice_read":                   line("POST",      "L D D D D A D"),
    "portal:ebox_letter":                   line("GET",       "L D D D D A D"),
    "portal:domain":                        line("GET",       "L D D A A A D", at=OWN),
    "portal:inbox":                         line("GET",       "L D D D D A D"),
    "portal:delivery_read":                 line("POST",      "L D D D D A D"),
    "portal:delivery_unread":               line("POST",      "L D D D D A D"),
    "portal:profile":                       line("GET",       "L D D D D A D"),
    "portal:members":                       line("GET",       "L D D D D A D"),
    "portal:member_add":                    line("GET POST",  "L D D D D A D"),
    "portal:member_add_role":               line("GET POST",  "L D D D D A D"),
    "portal:member_add_restrictions":       line("GET POST",  "L D D D D A D"),
    "portal:member_add_check":              line("GET POST",  "L D D D D A D"),
    "portal:member_added":                  line("GET",       "L D D D D A D"),
    "portal:member":                        line("GET",       "L D D D D A D"),
    "portal:member_restrict":               line("GET POST",  "L D D D D A D"),
    "portal:member_remove":                 line("GET POST",  "L D D D D A D"),
    "portal:member_leave":                  line("GET POST",  "L D D D D A D"),
    "portal:member_left":                   line("GET",       "L A A A A A A"),
    "portal:clients":                       line("GET",       "L A A A A A D", at=OWN),
    "portal:clients_csv":                   line("GET",       "L A A A A A D", at=OWN),
    "portal:client":                        line("GET",       "L D D A A D D", at=OWN),
    "portal:act_for":                       line("POST",      "L D D A A D D", at=OWN),
    "portal:act_stop":                      line("POST",      "L A A A A A A"),
    "portal:renounce":                      line("GET POST",  "L D D A A D D", at=OWN_MANDATE),
    "portal:renounced":                     line("GET",       "L D D A A D D", at=OWN_MANDATE,
                                                 prepare=renounce_own),
    "portal:given":                         line("GET",       "L D D D D A D"),
    "portal:given_end":                     line("GET POST",  "L D D D D A D", at=GIVEN),
    "portal:given_ended":                   line("GET",       "L D D D D A D", at=GIVEN,
                                                 prepare=revoke_given),
    "certification:request":                line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_consent":        line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_filer":          line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_employer":       line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_representative": line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_same":           line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_domains":        line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_details_same":   line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_details":        line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_security_code":  line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_check":          line("GET",       "L D D D D A D", prepare=reopen),
    "certification:request_sign":           line("GET POST",  "L D D D D A D", prepare=reopen),
    "certification:request_transmit":       line("GET",       "L D D D D A D"),
    "certification:request_confirm":        line("GET POST",  "L D D D D A D"),
    "certification:request_reopen":         line("POST",      "L D D D D A D"),
    "certification:request_sent":           line("GET",       "L D D D D A D"),
    "certification:request_signed_pdf":     line("GET",       "L D D D D A D"),
    "certification:certifications":         line("GET",       "L D D D D A D"),
    "certification:certification_add":      line("GET POST",  "L D D D D A D"),
    "certification:certification_add_kind": line("GET POST",  "L D D D D A D"),
    "certification:certification_add_code": line("GET POST",  "L D D D D A D"),
    "certification:certification_added":    line("GET",       "L D D D D A D"),
    "certification:revoke":                 line("GET POST",  "A A A A A A A"),
    "certification:revoke_confirm":         line("POST",      "A A A A A A A"),
    "certification:revoke_done":            line("GET",       "A A A A A A A"),
    "api:clients":                          line("GET",       "L D D D D A D"),
    "api:client_register":                  line("GET POST",  "L D D D D A D", also="400 422"),
    "api:client_check":                     line("GET POST",  "L D D D D A D", also="400 422"),
    "api:client_registered":                line("GET",       "L D D D D A D"),
    "api:client_revoke":                    line("GET POST",  "L D D D D A D"),
    "api-v1:openapi-json":                  line("GET",       "A A A A A A A"),
    "api-v1:openapi-view":                  line("GET",       "A A A A A A A"),
    "api-v1:api-root":                      line("GET",       "D D D D D D D"),  # no page
    "backoffice:home":                      line("GET",       "D D D D D D A"),
    "backoffice:requests":                  line("GET",       "D D D D D D A"),
    "backoffice:request":                   line("GET",       "D D D D D D A", at=QUEUED),
    "backoffice:request-pdf":               line("GET",       "D D D D D D A", at=QUEUED),
    "backoffice:request-issue":             line("POST",      "D D D D D D A", at=QUEUED),
    "backoffice:request-reject":            line("POST",      "D D D D D D A", at=QUEUED,
                                                 also="400 422"),
    "backoffice:letters":                   line("GET",       "D D D D D D A"),
    "backoffice:letter-reprint":            line("GET POST",  "D D D D D D A"),
    "backoffice:batch-create":              line("POST",      "D D D D D D A"),
    "backoffice:batch-pdf":                 line("GET",       "D D D D D D A"),
    "backoffice:batch-manifest":            line("GET",       "D D D D D D A"),
    "backoffice:batch-dispatch":            line("GET POST",  "D D D D D D A"),
    "backoffice:registry":                  line("GET",       "D D D D D D A"),
    "backoffice:employer-create":           line("GET POST",  "D D D D D D A", also="400 422"),
    "backoffice:employer":                  line("GET",       "D D D D D D A"),
    "backoffice:employer-edit":             line("GET POST",  "D D D D D D A", also="400 422"),
    "backoffice:employer-audit":            line("GET",       "D D D D D D A"),
    "backoffice:employer-audit-verify":     line("POST",      "D D D D D D A"),
    "backoffice:employer-audit-export":     line("GET",       "D D D D D D A"),
    "backoffice:representative-create":     line("GET POST",  "D D D D D D A", also="400 422"),
    "backoffice:representative":            line("GET",       "D D D D D D A"),
    "backoffice:representative-edit":       line("GET POST",  "D D D D D D A", also="400 422"),
}

_REQ = "/api/v1/certification-requests/{request_id}"
#                                                       anon other restr cons act admin agent
API: dict[str, Line] = {
    "GET /api/v1/health":                  line("GET",  "A A A A A A A"),
    "GET /api/v1/ping":                    line("GET",  "A A A A A A A"),
    "GET /api/v1/session":                 line("GET",  "L A A A A A A"),
    "POST /api/v1/oauth/token":            line("POST", "D A A A A A -", body=token_body, form=True,
                                                refusals=frozenset({400, 401})),
    "GET /api/v1/whoami":                  line("GET",  "L A A A A A -"),
    "POST /api/v1/check":                  line("POST", "L A A A A A -", body=check_body,
                                                answers=MAY_ACT),
    "POST /api/v1/check/batch":            line("POST", "L A A A A A -",
                                                body=lambda w, r: {"checks": [check_body(w, r)]}),
    "GET /api/v1/clients":                 line("GET",  "L A A A A A -",
                                                query="domain=AFFILIATIONS"),
    "GET /api/v1/mandates":                line("GET",  "L A A A A A -"),
    "GET /api/v1/mandates/{mandate_id}":   line("GET",  "L D A D A A -", at=GIVEN),
    "POST /api/v1/mandates/{mandate_id}/renounce":
                                           line("POST", "L D A D A D -", at=GIVEN, body={}),
    "POST /api/v1/mandates/{mandate_id}/revoke":
                                           line("POST", "L D D D D A -", at=GIVEN, body={}),
    "GET /api/v1/events":                  line("GET",  "L A A A A A -"),
    "POST /api/v1/redemptions":            line("POST", "L A A A A A -", body={"lines": [MADE_UP]}),
    "POST /api/v1/redemptions/csv":        line("POST", "L A A A A A -", body=csv_body, form=True),
    "POST /api/v1/spaces/{space_id}/certification-requests":
                                           line("POST", "L D D D D A D", body={}, prepare=reopen),
    f"GET {_REQ}":                         line("GET",  "L D D D D A D"),
    f"PUT {_REQ}/consent":                 line("PUT",  "L D D D D A D", body={"consent": True},
                                                prepare=reopen),
    f"PUT {_REQ}/filer":                   line("PUT",  "L D D D D A D", body=filer_body,
                                                prepare=reopen),
    f"PUT {_REQ}/employer":                line("PUT",  "L D D D D A D", body=employer_body,
                                                prepare=reopen),
    f"PUT {_REQ}/representatives":         line("PUT",  "L D D D D A D",
                                                body={"has_representative": False}, prepare=reopen),
    f"PUT {_REQ}/security-code":           line("PUT",  "L D D D D A D", body=security_body,
                                                prepare=reopen),
    f"POST {_REQ}/sign":                   line("POST", "L D D D D A D", prepare=reopen),
    f"POST {_REQ}/reopen":                 line("POST", "L D D D D A D"),
    f"POST {_REQ}/transmit":               line("POST", "L D D D D A D", body={"confirm": True}),
    "POST /api/v1/spaces/{space_id}/certifications":
                                           line("POST", "L D D D D A D", at=SISTER,
                                                body=redeem_body),
    "POST /api/v1/revocations/preview":    line("POST", "A A A A A A A", body=revocation_body),
    "POST /api/v1/revocations":            line("POST", "A A A A A A A", body=revocation_body),
}
# fmt: on


# --- what exists --------------------------------------------------------------------------------

SKIPPED_PREFIXES = ("admin/",)


def _patterns(
    resolver: URLResolver,
    prefix: str = "",
    namespace: str = "",
    groups: frozenset[str] = frozenset(),
) -> Iterator[tuple[str, str, URLPattern, frozenset[str]]]:
    """(namespaced name or route, route, pattern, its URL arguments) of every URL below."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        # a path()'s converters and a re_path()'s groups, along the whole chain of includes
        names = groups | set(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _patterns(pattern, route, inner, names)
        else:
            name = f"{namespace}{pattern.name}" if pattern.name else route
            yield name, route, pattern, names


@functools.cache
def _all_patterns() -> dict[str, tuple[str, URLPattern, frozenset[str]]]:
    return {name: (route, p, names) for name, route, p, names in _patterns(get_resolver())}


@functools.cache
def portal_endpoints() -> dict[str, str]:
    """Every URL of the root resolver but the admin's, static files and the API's operations
    (those are the OpenAPI document's), by namespaced name (the route when unnamed)."""
    found = {}
    for name, route, pattern, _names in _patterns(get_resolver()):
        if route.startswith(SKIPPED_PREFIXES) or route.startswith(settings.STATIC_URL.lstrip("/")):
            continue
        if getattr(pattern.callback, "__module__", "") == "ninja.operation":
            continue
        found[name] = route
    return found


@functools.cache
def api_endpoints() -> dict[str, str]:
    """Every operation of the OpenAPI document, as ``METHOD /path``, with its security."""
    schema = api.get_openapi_schema()
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            schemes = {name for item in operation.get("security") or [] for name in item}
            found[f"{method.upper()} {path}"] = (
                "token"
                if "ClientToken" in schemes
                else ("session" if "PortalSession" in schemes else "public")
            )
    return found


# --- the world, built once per module -----------------------------------------------------------


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Built once, in a transaction rolled back at the module's end.

    Each test's own ``db`` transaction, and each role's savepoint inside it, nest in
    this one. Signing makes a development seal in DATA_DIR: a temporary one here.
    """
    data_dir: Path = tmp_path_factory.mktemp("matrix-data")
    with (
        django_db_blocker.unblock(),
        # The sessions are made once: they stay fresh however slow the run.
        override_settings(
            DATA_DIR=data_dir,
            SEAL_KEY_FILE="",
            SEAL_CERT_FILE="",
            ACCOUNT_REAUTHENTICATION_TIMEOUT=3600,
        ),
    ):
        atomic = transaction.atomic()
        atomic._from_testcase = True  # type: ignore[attr-defined]
        with atomic:
            built = _world.build()
            built.extra["cookies"] = {role: _logged_in(built, role).cookies for role in ROLES}
            yield built
            transaction.set_rollback(True)


# --- one cell -------------------------------------------------------------------------------------

#: The login pages: the platform's, and allauth's own (its views send there).
LOGINS = tuple({resolve_url(settings.LOGIN_URL), resolve_url("account_login")})
#: Every response seen, by (endpoint, role): the summary's source.
SEEN: dict[tuple[str, str], list[str]] = {}
UNEXPECTED_2XX: list[str] = []


@dataclass
class Answer:
    method: str
    status: int
    location: str = ""

    def __str__(self) -> str:
        target = f"->{self.location}" if self.location else ""
        return f"{self.method} {self.status}{target}"


def _body(line_: Line, world: World, role: str) -> dict[str, Any]:
    body = line_.body
    if callable(body):
        return body(world, role)
    return dict(body or {})


def _client(world: World, role: str) -> Client:
    """The role's browser, with the session the world made for it.

    The session row was written with the world: whatever a request changes in it is
    undone with the cell's savepoint, and a new cookie (a login, a logout) is dropped.
    """
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for key, morsel in world.extra["cookies"][role].items():
        client.cookies[key] = morsel.value
    return client


def _logged_in(world: World, role: str) -> Client:
    """The role logged in: a substantial session (by the tests' contract), and a fresh
    one, so that allauth's "confirm it is you" pages do not come first."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if role != "anon":
        user = world.users[role]
        client.force_login(user)
        session = client.session
        session[assurance.SESSION_KEY] = assurance.SUBSTANTIAL
        # allauth's record of how and when the person last confirmed who they are.
        session["account_authentication_methods"] = [
            {
                "method": "password",
                "at": time.time(),
                "username": user.get_username(),
                "reauthenticated": True,
            }
        ]
        session["account_authentication_methods_user"] = str(user.pk)
        session.save()
    return client


def _send(
    client: Client,
    method: str,
    url: str,
    body: dict[str, Any],
    *,
    json_body: bool,
    headers: dict[str, str],
) -> HttpResponseBase:
    call = getattr(client, method.lower())
    if method == "GET":
        return call(url, headers=headers)  # type: ignore[no-any-return]
    if json_body:
        return call(url, json.dumps(body), content_type="application/json", headers=headers)  # type: ignore[no-any-return]
    return call(url, body, headers=headers)  # type: ignore[no-any-return]


def _verdict(expected: str, answer: Answer, line_: Line, *, api_call: bool) -> str | None:
    """None when the answer is the expected outcome, else what is wrong."""
    status = answer.status
    to_login = 300 <= status < 400 and answer.location.startswith(LOGINS)
    if expected == "A":
        if (200 <= status < 400 and (line_.ends_at_login or not to_login)) or (
            status in line_.also
        ):
            return None
        return "expected allowed"
    if expected == "L":
        if (api_call and status == 401) or (not api_call and to_login):
            return None
        return "expected a login first"
    if status in (403, 404) or status in line_.refusals:
        return None
    return "expected denied"


def run_cell(
    endpoint: str, role: str, line_: Line, world: World, url: str, *, kind: str
) -> list[str]:
    """Send the line's requests as ``role``; the failures, one message each."""
    expected = line_.cells[role]
    if expected == "-":
        return []
    failures = []
    api_call = kind != "portal"
    with rolled_back():
        if line_.prepare is not None:
            line_.prepare(world, role)
        headers = {}
        if kind == "token":
            client = Client(HTTP_ACCEPT_LANGUAGE="en")
            if role in world.clients:  # a fresh token: they live five minutes
                headers["Authorization"] = f"Bearer {factories.api_token(world.clients[role])}"
        else:
            client = _client(world, role)
        for method in line_.methods:
            response = _send(
                client,
                method,
                url + (f"?{line_.query}" if line_.query else ""),
                _body(line_, world, role),
                json_body=api_call and not line_.form,
                headers=headers,
            )
            answer = Answer(method, response.status_code, response.get("Location", "") or "")
            SEEN.setdefault((endpoint, role), []).append(str(answer))
            problem = _verdict(expected, answer, line_, api_call=api_call)
            wanted = line_.answers.get(role)
            if problem is None and wanted is not None:
                body = json.loads(response.content)  # type: ignore[attr-defined]
                if {key: body.get(key) for key in wanted} != wanted:
                    problem = f"expected an answer holding {wanted}, got {body}"
            if problem is None:
                continue
            if expected != "A" and 200 <= answer.status < 300:
                UNEXPECTED_2XX.append(f"{endpoint} as {role}: {answer}")
            failures.append(f"{endpoint} as {role}: {problem} ({expected}), got {answer}")
    return failures


def _portal_url(name: str, world: World, role: str, line_: Line) -> str:
    route, pattern, names = _all_patterns()[name]
    at = {**DEFAULT_AT, **line_.at}
    if pattern.name:
        return reverse(name, kwargs={key: world.value(at[key], role) for key in names})
    return "/" + route


def _api_url(endpoint: str, world: World, role: str, line_: Line) -> str:
    path = endpoint.split(" ", 1)[1]
    at = {**DEFAULT_AT, **line_.at}
    names = [name for _text, name, _spec, _conv in string.Formatter().parse(path) if name]
    return path.format(**{name: world.value(at[name], role) for name in names})


# --- the tests ------------------------------------------------------------------------------------


def test_the_table_covers_every_endpoint() -> None:
    portal = set(portal_endpoints())
    operations = set(api_endpoints())
    missing = sorted((portal - set(PORTAL)) | (operations - set(API)))
    stale = sorted((set(PORTAL) - portal) | (set(API) - operations))
    assert not missing, f"endpoints without a line in the authorization matrix: {missing}"
    assert not stale, f"lines of the authorization matrix for no endpoint: {stale}"


def test_every_api_route_is_an_operation() -> None:
    """The API's URL patterns are the OpenAPI document's paths: none escapes the table."""
    paths = {key.split(" ", 1)[1] for key in api_endpoints()}
    routes = {
        "/" + route.replace("<", "{").replace(">", "}")
        for _name, route, pattern, _names in _patterns(get_resolver())
        if getattr(pattern.callback, "__module__", "") == "ninja.operation"
    }
    assert routes == paths


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", sorted(PORTAL))
def test_portal(endpoint: str, world: World) -> None:
    routes = portal_endpoints()
    assert endpoint in routes, f"{endpoint}: no such URL"
    line_ = PORTAL[endpoint]
    failures = []
    for role in ROLES:
        url = _portal_url(endpoint, world, role, line_)
        failures += run_cell(endpoint, role, line_, world, url, kind="portal")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", sorted(API))
def test_api(endpoint: str, world: World) -> None:
    kinds = api_endpoints()
    assert endpoint in kinds, f"{endpoint}: no such operation"
    line_ = API[endpoint]
    failures = []
    for role in ROLES:
        url = _api_url(endpoint, world, role, line_)
        failures += run_cell(endpoint, role, line_, world, url, kind=kinds[endpoint])
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module", autouse=True)
def _tally(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module: the tally of this process's cells, and 0 unexpected 2xx among them.

    Each cell already fails its own test; this prints the summary (per xdist worker) and fails
    the module's teardown should a 2xx slip past a cell's own assertion.
    """
    yield
    if not SEEN:
        return
    outcomes = Counter(
        PORTAL.get(endpoint, API.get(endpoint)).cells[role]  # type: ignore[union-attr]
        for endpoint, role in SEEN
    )
    endpoints = {endpoint for endpoint, _role in SEEN}
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(
            f"\nauthorization matrix: {len(endpoints)} endpoints, {len(SEEN)} cells "
            f"({', '.join(f'{k}={v}' for k, v in sorted(outcomes.items()))}), "
            f"{sum(len(v) for v in SEEN.values())} requests, "
            f"{len(UNEXPECTED_2XX)} unexpected 2xx"
        )
    assert UNEXPECTED_2XX == []


#: The pages of the space's certification request: the filer's data and answers.
REQUEST_PAGES = sorted(
    name
    for name in PORTAL
    if name.startswith("certification:request_") and name != "certification:request_sent"
)


@pytest.mark.django_db
def test_a_collaborator_of_the_employer_sees_no_request(world: World) -> None:
    """As in the API, only the administrators of the filing space see its request; a
    collaborator of the employer's own space gets the same 404 as a stranger."""
    colleague = world.colleague.user
    answers = {}
    with rolled_back():
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(colleague)
        for name in REQUEST_PAGES:
            url = _portal_url(name, world, "admin", PORTAL[name])
            answers[name] = [
                getattr(client, method.lower())(url).status_code for method in PORTAL[name].methods
            ]
        api_answer = client.get(f"/api/v1/certification-requests/{world.open_request.pk}")
    assert api_answer.status_code == 404
    assert {name: codes for name, codes in answers.items() if set(codes) != {404}} == {}
