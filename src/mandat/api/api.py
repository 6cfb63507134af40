"""The HTTP API, versioned under /api/v1/. Its OpenAPI document is committed as openapi.json.

Authentication is ``mandat.api.auth.API_AUTH`` (the portal session) for every endpoint
that does not declare its own: the token API (``endpoints``, ``mandate_endpoints``) uses
``auth.CLIENT_AUTH``, and ``oauth`` hands out its tokens. Errors are problem documents
(``mandat.api.problems``), except the OAuth token endpoint's, which follow RFC 6749.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest
from ninja import NinjaAPI, Router, Schema
from ninja.openapi.schema import OpenAPISchema

from mandat.api import auth, endpoints, mandate_endpoints, oauth, problems
from mandat.certification.api import router as certification_router


class MandatAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        problems.document_media_type(schema)
        return schema


api = MandatAPI(
    title="mandat API",
    version="1.0.0",
    urls_namespace="api-v1",
    description="Delegated access to e-government services: checks, clients and mandates.",
    auth=auth.API_AUTH,
    # Problem documents name a field "invalid-params": every operation serialises by alias.
    default_router=Router(by_alias=True),
)
problems.install(api)


class Health(Schema):
    status: str
    database: str


@api.get("/health", response=Health, auth=None, tags=["service"])
def health(request: HttpRequest) -> Health:
    """Liveness and database reachability, for load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Health(status="ok", database=connection.vendor)


api.add_router("", auth.router)
api.add_router("", oauth.router)
api.add_router("", endpoints.router)
api.add_router("", mandate_endpoints.router)
api.add_router("", certification_router)
api.add_router("", "mandat.api.redemptions.router")
