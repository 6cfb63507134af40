"""Errors as RFC 9457 problem documents (``application/problem+json``).

Every refusal the API answers is one document::

    {"type": "urn:mandat:problem:request_wrong_state", "status": 409,
     "title": "...", "detail": "...", "code": "request_wrong_state",
     "invalid-params": [{"name": "confirm", "reason": "..."}]}

- ``type`` is ``urn:mandat:problem:<code>``, where ``<code>`` is the stable,
  language-neutral ``ApplicationError.code`` (also repeated as ``code``). It is an
  identifier, not an address: compare it as a string; it never changes once
  published. A URN rather than an ``https`` URL because no deployment's host name
  is part of an error's identity.
- ``title`` and ``detail`` are translated into the language the request asked
  for (``Accept-Language``: fr by default, de, en).
- ``invalid-params`` names the body or path field in question, when there is one.

Statuses: 401 not logged in or no valid access token, 403 allowed to see but not
to do (a failed CSRF check, a scope the client lacks), 404 missing or not yours (one
answer for both), 409 the state of a request or code does not allow it, 422 the
input is wrong (schema or business check), 429 too many calls (with
``Retry-After``), 400 a body that cannot be read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import ConfigDict, Field

from mandat.core.errors import ApplicationError, NotFoundOrForbidden

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:mandat:problem:"

#: Codes that are not answered with 422 (a wrong input).
STATUS_BY_CODE: dict[str, int] = {
    "malformed_request": 400,
    "not_authenticated": 401,
    "csrf_failed": 403,
    "forbidden": 403,
    "space_admin_required": 403,
    "scope_act_required": 403,
    "agent_required": 403,
    "step_up_required": 403,
    "not_an_employer_space": 403,
    "not_found": 404,
    "request_wrong_state": 409,
    "request_in_progress": 409,
    "request_incomplete": 409,
    "code_used": 409,
    "code_invalidated": 409,
    "code_expired": 409,
    "code_locked": 409,
    "revocation_code_used": 409,
    "nothing_to_revoke": 409,
    "mandate_exists": 409,
    "invalid_token": 401,
    "scope_missing": 403,
    "revoke_forbidden": 403,
    "renounce_forbidden": 403,
    "renounce_primary": 409,
    "revoke_primary": 409,
    "mandate_wrong_state": 409,
    "rate_limited": 429,
    "too_many_failures": 429,
}

_HTTP_CODES: dict[int, tuple[str, str | Promise]] = {
    400: ("malformed_request", _("The request body cannot be read.")),
    401: ("not_authenticated", _("Log in to use this API.")),
    403: ("forbidden", _("You may not do this.")),
    404: ("not_found", _("This resource does not exist or you may not open it.")),
}


class InvalidParam(Schema):
    name: str = Field(description="The field, as a dotted path in the body: `delegations.0.level`.")
    reason: str


class Problem(Schema):
    """An RFC 9457 problem document; see ``mandat.api.problems``."""

    model_config = ConfigDict(populate_by_name=True)

    type: str = Field(
        description="urn:mandat:problem:<code>; stable, compare as a string.",
        json_schema_extra={"format": "uri"},
        examples=["urn:mandat:problem:request_wrong_state"],
    )
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(description="The stable code that ends `type`.")
    invalid_params: list[InvalidParam] | None = Field(default=None, alias="invalid-params")


def problems(*statuses: int) -> dict[int, type[Problem]]:
    """The ``response`` entries of an operation's error statuses."""
    return dict.fromkeys(statuses, Problem)


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str = "",
    invalid_params: list[InvalidParam] | None = None,
) -> HttpResponse:
    body = Problem.model_validate(
        {
            "type": TYPE_PREFIX + code,
            "title": title,
            "status": status,
            "detail": detail or title,
            "code": code,
            "invalid-params": invalid_params or None,
        }
    )
    content = json.dumps(body.model_dump(by_alias=True, exclude_none=True), ensure_ascii=False)
    return HttpResponse(content.encode(), status=status, content_type=MEDIA_TYPE)


def status_of(error: ApplicationError) -> int:
    if isinstance(error, NotFoundOrForbidden):
        return 404
    return STATUS_BY_CODE.get(error.code, 422)


def _application_error(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    message = str(error)
    params = [InvalidParam(name=error.field, reason=message)] if error.field else None
    response = problem_response(
        status=status_of(error), code=error.code, title=message, invalid_params=params
    )
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "payload", "delegations", 0, "level")`` → ``delegations.0.level``."""
    source, *rest = location
    if source == "body" and rest:
        rest = rest[1:]  # the view's parameter name is not part of the document
    return ".".join(str(part) for part in rest) or str(source)


def _validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    params = [
        InvalidParam(name=_field_name(item.get("loc", ("body",))), reason=str(item.get("msg", "")))
        for item in error.errors
    ]
    return problem_response(
        status=422,
        code="invalid_input",
        title=str(_("Some values are not valid.")),
        detail="; ".join(f"{p.name}: {p.reason}" for p in params),
        invalid_params=params,
    )


def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    status = error.status_code
    code, title = _HTTP_CODES.get(status, (f"http_{status}", str(error)))
    return problem_response(status=status, code=code, title=str(title), detail=str(error))


def _authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        response = problem_response(
            status=401,
            code="invalid_token",
            title=str(
                _(
                    "The access token is not valid: it has expired, or its client was "
                    "revoked or has expired. Get a new token."
                )
            ),
        )
        response["WWW-Authenticate"] = 'Bearer realm="mandat", error="invalid_token"'
        return response
    code, title = _HTTP_CODES[401]
    response = problem_response(status=401, code=code, title=str(title))
    response["WWW-Authenticate"] = 'Bearer realm="mandat", Cookie realm="mandat"'
    return response


def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    code, title = _HTTP_CODES[404]
    return problem_response(status=404, code=code, title=str(title))


def install(api: NinjaAPI) -> None:
    """Answer every refusal of ``api`` with a problem document."""
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (ApplicationError, _application_error),
        (ValidationError, _validation_error),
        (AuthenticationError, _authentication_error),
        (HttpError, _http_error),
        (Http404, _not_found),
    ]
    for exception, handler in handlers:
        api.add_exception_handler(exception, handler)


def document_media_type(schema: dict[str, Any]) -> None:
    """Declare error responses as ``application/problem+json`` in the OpenAPI document.

    ninja gives every response its renderer's media type; the problem handlers
    above answer with ``MEDIA_TYPE``, and the document must say so.
    """
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if int(status) >= 400 and content and "application/json" in content:
                    reference = content["application/json"].get("schema", {}).get("$ref", "")
                    if reference.endswith("/Problem"):  # OAuth's own errors stay JSON
                        response["content"] = {MEDIA_TYPE: content.pop("application/json")}
