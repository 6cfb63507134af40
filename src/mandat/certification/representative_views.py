"""Procedure B, step 4: the representative questions, one per page.

The service saves them in one call (``request_set_representatives``), so the
answers wait in the session until the last page, then go to the service
together. "Back" and "Change" show the answers being given, else the saved ones.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from mandat.catalog.models import Domain
from mandat.certification import forms, selectors, services
from mandat.certification.forms import NO, YES, PageErrors
from mandat.certification.models import CertificationRequest, RequestStatus
from mandat.certification.pages import (
    after,
    answers,
    details_url,
    forget_answers,
    keep_answers,
    page,
    step_url,
    user_of,
    wizard,
)
from mandat.certification.selectors import RepresentativeAnswers
from mandat.core.errors import ApplicationError
from mandat.registry import selectors as registry
from mandat.spaces.models import Space

_DETAILS = ("registration_number", "name", "level")


def _yes_no(value: bool | None) -> str:
    return "" if value is None else YES if value else NO


@wizard(RequestStatus.DRAFT)
def request_representative(
    request: HttpRequest, space: Space, draft: CertificationRequest
) -> HttpResponse:
    """Do you have an authorised representative? "No" is the whole answer and is saved."""
    errors = PageErrors("has_representative")
    given = answers(request, draft)
    value = _yes_no(given.has)
    if request.method == "POST":
        form = forms.HasRepresentativeForm(request.POST)
        value = request.POST.get("has_representative", "")
        if not form.is_valid():
            errors.add_form(form)
        elif form.cleaned_data["has_representative"] == YES:
            given.has = True
            keep_answers(request, draft, given)
            return redirect(step_url(request, "request_same", space))
        else:
            try:
                services.request_set_representatives(
                    by=user_of(request),
                    request=draft,
                    has_representative=False,
                    same_representative=None,
                    delegations=[],
                )
            except ApplicationError as error:
                errors.add_error(error)
            else:
                forget_answers(request, draft)
                return after(request, space, draft, "request_security_code")
    return page(
        request,
        "has_representative.html",
        errors,
        space=space,
        value=value,
        back_url=step_url(request, "request_employer", space),
    )


@wizard(RequestStatus.DRAFT)
def request_same(request: HttpRequest, space: Space, draft: CertificationRequest) -> HttpResponse:
    """Is the representative the same for each domain?"""
    given = answers(request, draft)
    if not given.has:
        return redirect(step_url(request, "request_representative", space))
    errors = PageErrors("same_representative")
    value = _yes_no(given.same)
    if request.method == "POST":
        form = forms.SameRepresentativeForm(request.POST)
        value = request.POST.get("same_representative", "")
        if form.is_valid():
            given.same = form.cleaned_data["same_representative"] == YES
            keep_answers(request, draft, given)
            return redirect(step_url(request, "request_domains", space))
        errors.add_form(form)
    return page(
        request,
        "same_representative.html",
        errors,
        space=space,
        value=value,
        back_url=step_url(request, "request_representative", space),
    )


def _render_domains(
    request: HttpRequest,
    space: Space,
    draft: CertificationRequest,
    chosen: list[str],
    errors: PageErrors,
) -> HttpResponse:
    return page(
        request,
        "domains.html",
        errors,
        space=space,
        chosen=chosen,
        domains=selectors.delegable_domains(institution=draft.institution),
        back_url=step_url(request, "request_same", space),
    )


@wizard(RequestStatus.DRAFT)
def request_domains(
    request: HttpRequest, space: Space, draft: CertificationRequest
) -> HttpResponse:
    """Which domains do you delegate?"""
    given = answers(request, draft)
    if not given.has or given.same is None:
        return redirect(step_url(request, "request_same", space))
    errors = PageErrors("domains")
    chosen = given.domains
    if request.method == "POST":
        domains = list(selectors.delegable_domains(institution=draft.institution))
        form = forms.DomainsForm(request.POST, domains=domains)
        chosen = request.POST.getlist("domains")
        if form.is_valid():
            picked = set(form.cleaned_data["domains"])
            given.domains = [d.code for d in domains if d.code in picked]
            keep_answers(request, draft, given)
            return redirect(details_url(request, space, given))
        errors.add_form(form)
    return _render_domains(request, space, draft, chosen, errors)


def _render_details(
    request: HttpRequest,
    space: Space,
    draft: CertificationRequest,
    given: RepresentativeAnswers,
    code: str | None,
    values: dict[str, str],
    errors: PageErrors,
) -> HttpResponse:
    """The details page of domain ``code``, or of every domain at once when ``code`` is None."""
    chosen = list(
        selectors.delegable_domains(institution=draft.institution).filter(code__in=given.domains)
    )
    domain: Domain | None = None
    if code is None:
        back = step_url(request, "request_domains", space)
        action = step_url(request, "request_details_same", space)
    else:
        domain = next(d for d in chosen if d.code == code)
        position = given.domains.index(code)
        back = (
            details_url(request, space, given, given.domains[position - 1])
            if position
            else step_url(request, "request_domains", space)
        )
        action = step_url(request, "request_details", space, code)
    return page(
        request,
        "representative_details.html",
        errors,
        space=space,
        domain=domain,
        chosen=chosen,
        values=values,
        back_url=back,
        action=action,
    )


def _save(
    request: HttpRequest, space: Space, draft: CertificationRequest, given: RepresentativeAnswers
) -> HttpResponse:
    """After the last page: the service checks and saves every answer at once."""
    delegations = [
        services.DelegationInput(
            domain_code=code,
            registration_number=given.details.get(code, {}).get("registration_number", ""),
            name=given.details.get(code, {}).get("name", ""),
            level=given.details.get(code, {}).get("level", ""),
        )
        for code in given.domains
    ]
    try:
        services.request_set_representatives(
            by=user_of(request),
            request=draft,
            has_representative=True,
            same_representative=given.same,
            delegations=delegations,
        )
    except ApplicationError as error:
        code, _, name = (error.field or "").partition("-")
        if name and code in given.domains:
            # Shown on that domain's page, with what was typed there.
            errors = PageErrors(*_DETAILS)
            errors.add(name, error)
            shown = None if given.same else code
            typed = given.details.get(code, {})
            return _render_details(request, space, draft, given, shown, typed, errors)
        errors = PageErrors("domains")
        errors.add_error(error)
        return _render_domains(request, space, draft, given.domains, errors)
    forget_answers(request, draft)
    return after(request, space, draft, "request_security_code")


def _details(
    request: HttpRequest, space: Space, draft: CertificationRequest, code: str | None
) -> HttpResponse:
    given = answers(request, draft)
    if not given.has or given.same is None or not given.domains:
        return redirect(step_url(request, "request_domains", space))
    if (code is None) != given.same or (code is not None and code not in given.domains):
        return redirect(details_url(request, space, given))
    errors = PageErrors(*_DETAILS)
    values = given.details.get(code or given.domains[0], {})
    if request.method == "POST":
        form = forms.RepresentativeForm(request.POST)
        values = {key: request.POST.get(key, "") for key in _DETAILS}
        form.is_valid()
        errors.add_form(form)
        typed = form.cleaned_data
        if "registration_number" in typed and "name" in typed:
            try:  # checked now, so that the error shows on this page, not after the last one
                registry.representative_match(
                    registration_number=typed["registration_number"], name=typed["name"]
                )
            except ApplicationError as error:
                errors.add("registration_number", error)
        if not errors:
            for each in given.domains if code is None else [code]:
                given.details[each] = dict(values)
            keep_answers(request, draft, given)
            position = given.domains.index(code) if code else len(given.domains) - 1
            if position + 1 < len(given.domains):
                following = given.domains[position + 1]
                return redirect(details_url(request, space, given, following))
            return _save(request, space, draft, given)
    return _render_details(request, space, draft, given, code, values, errors)


@wizard(RequestStatus.DRAFT)
def request_details_same(
    request: HttpRequest, space: Space, draft: CertificationRequest
) -> HttpResponse:
    """The representative of every delegated domain, asked once."""
    return _details(request, space, draft, None)


@wizard(RequestStatus.DRAFT)
def request_details(
    request: HttpRequest, space: Space, draft: CertificationRequest, domain_code: str
) -> HttpResponse:
    """The representative of one delegated domain."""
    return _details(request, space, draft, domain_code)
