"""Procedure C (add a certification with a posted access code) and public revocation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mandat.accounts.assurance import assurance_required
from mandat.catalog.models import Domain
from mandat.certification import forms, selectors
from mandat.certification.forms import PageErrors
from mandat.certification.models import CodeKind
from mandat.certification.pages import page, space_or_404, url, user_of
from mandat.certification.redemption import (
    certification_revoke_with_code,
    code_redeem,
    revocation_preview,
)
from mandat.core import throttle
from mandat.core.errors import ApplicationError, NotFoundOrForbidden

_REVOKED = "certification-revoked"


@login_required
def certifications(request: HttpRequest, space_id: int) -> HttpResponse:
    """The space's Certifications tab: each domain, certified or not."""
    space = space_or_404(request, space_id)
    return page(
        request,
        "certifications.html",
        space=space,
        rows=selectors.certifications_by_domain(space=space),
        employer_space=selectors.is_employer_space(space=space),
        obtained=selectors.obtained_of_space(space=space),
    )


def _chosen_domain(request: HttpRequest) -> Domain | None:
    value = request.GET.get("domain", "")
    return selectors.domain_by_id(domain_id=int(value)) if value.isdigit() else None


@login_required
def certification_add(request: HttpRequest, space_id: int) -> HttpResponse:
    """Which domain do you certify?"""
    space = space_or_404(request, space_id)
    domains = selectors.all_domains()
    errors = PageErrors("domain")
    chosen = request.GET.get("domain", "")
    if request.method == "POST":
        form = forms.DomainChoiceForm(request.POST, domains=domains)
        chosen = request.POST.get("domain", "")
        if form.is_valid():
            return redirect(
                url("certification_add_kind", space.pk, domain=form.cleaned_data["domain"])
            )
        errors.add_form(form)
    return page(
        request,
        "add_domain.html",
        errors,
        space=space,
        domains=domains,
        chosen=chosen,
        back_url=url("certifications", space.pk),
    )


@login_required
def certification_add_kind(request: HttpRequest, space_id: int) -> HttpResponse:
    """Is it your own (primary) certification, or a mandate obtained from a client?"""
    space = space_or_404(request, space_id)
    domain = _chosen_domain(request)
    if domain is None:
        return redirect(url("certification_add", space.pk))
    errors = PageErrors("kind")
    chosen = request.GET.get("kind", "")
    if request.method == "POST":
        form = forms.KindForm(request.POST)
        chosen = request.POST.get("kind", "")
        if form.is_valid():
            return redirect(
                url(
                    "certification_add_code",
                    space.pk,
                    domain=str(domain.pk),
                    kind=form.cleaned_data["kind"],
                )
            )
        errors.add_form(form)
    return page(
        request,
        "add_kind.html",
        errors,
        space=space,
        domain=domain,
        chosen=chosen,
        back_url=url("certification_add", space.pk, domain=str(domain.pk)),
    )


@login_required
@assurance_required
def certification_add_code(request: HttpRequest, space_id: int) -> HttpResponse:
    """Enter the access code and the security code."""
    space = space_or_404(request, space_id)
    domain = _chosen_domain(request)
    kind = request.GET.get("kind", "")
    if domain is None or kind not in (CodeKind.HOLDER, CodeKind.REPRESENTATIVE):
        return redirect(url("certification_add", space.pk))
    errors = PageErrors("domain", "code", "security_code", default="code")
    code = ""
    retry_after: int | None = None
    if request.method == "POST":
        form = forms.RedeemForm(request.POST)
        code = request.POST.get("code", "")
        if form.is_valid():
            try:
                mandate = code_redeem(
                    by=user_of(request),
                    space=space,
                    domain=domain,
                    kind=kind,
                    code=form.cleaned_data["code"],
                    security_code=form.cleaned_data["security_code"],
                    address=throttle.address_of(request),
                )
            except ApplicationError as error:
                if isinstance(error, throttle.Throttled):
                    retry_after = error.retry_after
                if error.code == "code_typo":  # said outright: a typo costs no try
                    note = _("A typing error does not count as a wrong try.")
                    errors.add("code", f"{error} {note}")
                errors.add_error(error)
            else:
                return redirect(url("certification_added", space.pk, mandate.pk))
        else:
            errors.add_form(form)
    response = page(
        request,
        "add_code.html",
        errors,
        status=200 if retry_after is None else 429,
        space=space,
        domain=domain,
        kind=kind,
        code=code,
        change_domain_url=url("certification_add", space.pk, domain=str(domain.pk)),
        back_url=url("certification_add_kind", space.pk, domain=str(domain.pk), kind=kind),
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@login_required
def certification_added(request: HttpRequest, space_id: int, mandate_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    try:
        mandate = selectors.space_mandate(space=space, mandate_id=mandate_id)
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error
    return page(request, "added.html", space=space, mandate=mandate)


# Revocation with the posted revocation code, without logging in


def revoke(request: HttpRequest) -> HttpResponse:
    """Enter the revocation code; a right one shows what it would end."""
    errors = PageErrors("code")
    code = ""
    if request.method == "POST":
        form = forms.RevocationForm(request.POST)
        code = request.POST.get("code", "")
        if form.is_valid():
            try:
                preview = revocation_preview(code=form.cleaned_data["code"])
            except ApplicationError as error:
                errors.add_error(error)
            else:
                return page(
                    request,
                    "revoke_confirm.html",
                    preview=preview,
                    code=form.cleaned_data["code"],
                    back_url=url("revoke"),
                )
        else:
            errors.add_form(form)
    return page(request, "revoke.html", errors, code=code)


@require_POST
def revoke_confirm(request: HttpRequest) -> HttpResponse:
    errors = PageErrors("code")
    form = forms.RevocationForm(request.POST)
    code = request.POST.get("code", "")
    if form.is_valid():
        try:
            mandate = certification_revoke_with_code(code=form.cleaned_data["code"])
        except ApplicationError as error:
            errors.add_error(error)
        else:
            request.session[_REVOKED] = {
                "employer": mandate.employer.name,
                "domain": mandate.domain_id,
            }
            return redirect(url("revoke_done"))
    else:
        errors.add_form(form)
    return page(request, "revoke.html", errors, code=code)


def revoke_done(request: HttpRequest) -> HttpResponse:
    done = request.session.get(_REVOKED)
    if not isinstance(done, dict):
        return redirect(url("revoke"))
    domain_id = done.get("domain")
    return page(
        request,
        "revoke_done.html",
        employer_name=done.get("employer", ""),
        domain=selectors.domain_by_id(domain_id=domain_id) if isinstance(domain_id, int) else None,
    )
