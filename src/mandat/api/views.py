"""Portal pages where a space's administrators manage its API clients.

A person who does not administer the space gets the same 404 as for a missing space.
The client secret is shown once: the registration stores it in the session, and the
confirmation page takes it out again at its first showing; that page is never cached
(``Cache-Control: no-store``), so neither the browser nor a proxy keeps the secret.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from mandat.accounts.assurance import assurance_required
from mandat.api import selectors, services, tokens
from mandat.api.forms import KEY, ApiClientForm, scope_choices
from mandat.api.models import ApiClient
from mandat.certification.forms import PageErrors
from mandat.certification.pages import admin_space_or_404, user_of
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.spaces.models import Space

FIELDS = ("name", "scopes", "expires_on", "method", "public_jwk")
_SECRET_KEY = "api-client-secret-{pk}"  # noqa: S105 - a session key's name


def _client(request: HttpRequest, space: Space, client_pk: int) -> ApiClient:
    try:
        return selectors.access_api_client(user=user_of(request), space=space, client_pk=client_pk)
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error


@login_required
def clients(request: HttpRequest, space_id: int) -> HttpResponse:
    space = admin_space_or_404(request, space_id)
    labels = dict(scope_choices())
    rows = [
        (client, [labels.get(item, item) for item in client.scopes])
        for client in selectors.api_clients_of_space(space=space)
    ]
    return render(
        request,
        "api/clients.html",
        {
            "space": space,
            "rows": rows,
            "now": timezone.now(),
            "revoked": request.GET.get("revoked"),
        },
    )


def _draft_key(space: Space) -> str:
    return f"api-client-draft-{space.pk}"


def _draft(request: HttpRequest, space: Space) -> dict[str, Any] | None:
    draft = request.session.get(_draft_key(space))
    return draft if isinstance(draft, dict) else None


def _form_page(
    request: HttpRequest, space: Space, values: Any, errors: PageErrors | None
) -> HttpResponse:
    chosen = values.getlist("scopes") if hasattr(values, "getlist") else values.get("scopes", [])
    return render(
        request,
        "api/register.html",
        {
            "space": space,
            "errors": errors or None,
            "values": values,
            "chosen": chosen,
            "choices": scope_choices(),
            "back_url": reverse("api:clients", args=[space.pk]),
        },
        status=422 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest, space_id: int) -> HttpResponse:
    """The client's details on one page; they are kept in the session until confirmed."""
    space = admin_space_or_404(request, space_id)
    if request.method == "POST":
        form = ApiClientForm(request.POST)
        if form.is_valid():
            request.session[_draft_key(space)] = {
                "name": form.cleaned_data["name"],
                "scopes": form.cleaned_data["scopes"],
                "expires_on": form.cleaned_data["expires_on"].isoformat(),
                "method": form.cleaned_data["method"],
                "public_jwk": request.POST.get("public_jwk", "")
                if form.cleaned_data["method"] == KEY
                else "",
            }
            return redirect("api:client_check", space.pk)
        errors = PageErrors(*FIELDS)
        errors.add_form(form)
        return _form_page(request, space, request.POST, errors)
    default = {"expires_on": (timezone.localdate() + dt.timedelta(days=365)).isoformat()}
    return _form_page(request, space, _draft(request, space) or default, None)


@login_required
@require_http_methods(["GET", "POST"])
@assurance_required
def check(request: HttpRequest, space_id: int) -> HttpResponse:
    """Check your answers, then register."""
    space = admin_space_or_404(request, space_id)
    draft = _draft(request, space)
    if draft is None:
        return redirect("api:client_register", space.pk)
    form = ApiClientForm(draft)
    if not form.is_valid():  # a draft from another day may have gone stale
        errors = PageErrors(*FIELDS)
        errors.add_form(form)
        return _form_page(request, space, draft, errors)
    if request.method == "POST":
        try:
            registered = services.api_client_register(
                by=user_of(request),
                space=space,
                name=form.cleaned_data["name"],
                scopes=form.scope_pairs(),
                expires_at=form.expires_at(),
                public_jwk=form.cleaned_data.get("jwk") if draft["method"] == KEY else None,
            )
        except ApplicationError as error:
            errors = PageErrors(*FIELDS)
            errors.add_error(error, rename={"expires_at": "expires_on"})
            return _form_page(request, space, draft, errors)
        del request.session[_draft_key(space)]
        if registered.secret:
            request.session[_SECRET_KEY.format(pk=registered.client.pk)] = registered.secret
        return redirect("api:client_registered", space.pk, registered.client.pk)
    labels = dict(scope_choices())
    return render(
        request,
        "api/check.html",
        {
            "space": space,
            "draft": draft,
            "scopes": [labels.get(item, item) for item in draft["scopes"]],
            "expires_at": form.expires_at(),
            "key_type": (form.cleaned_data.get("jwk") or {}).get("kty"),
            "change_url": reverse("api:client_register", args=[space.pk]),
            "back_url": reverse("api:client_register", args=[space.pk]),
        },
    )


@never_cache
@login_required
def registered(request: HttpRequest, space_id: int, client_pk: int) -> HttpResponse:
    space = admin_space_or_404(request, space_id)
    client = _client(request, space, client_pk)
    secret = request.session.pop(_SECRET_KEY.format(pk=client.pk), None)
    return render(
        request,
        "api/registered.html",
        {
            "space": space,
            "client": client,
            "secret": secret,
            "token_url": tokens.token_endpoint_url(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@assurance_required
def revoke(request: HttpRequest, space_id: int, client_pk: int) -> HttpResponse:
    space = admin_space_or_404(request, space_id)
    client = _client(request, space, client_pk)
    if client.revoked_at is not None:
        raise Http404
    if request.method == "POST":
        services.api_client_revoke(by=user_of(request), client=client)
        return redirect(reverse("api:clients", args=[space.pk]) + f"?revoked={client.pk}")
    return render(request, "api/revoke.html", {"space": space, "client": client})
