"""Procedure B: the certification request wizard, one question per page.

Each view parses its page, calls one service and renders. Every answer is
saved in the draft, so the person can leave and come back: the start page
resumes at the first step still to answer. The representative questions are in
``representative_views``; procedure C and revocation in ``code_views``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from mandat.accounts.assurance import assurance_required
from mandat.certification import forms, selectors, services
from mandat.certification.forms import PageErrors
from mandat.certification.issuing import reference
from mandat.certification.models import CertificationRequest, RequestStatus
from mandat.certification.pages import (
    admin_space_or_404,
    after,
    last_representative_url,
    page,
    resume_url,
    space_or_404,
    step_url,
    url,
    user_of,
    wizard,
)
from mandat.core.errors import ApplicationError
from mandat.spaces.models import Space


@login_required
def request_start(request: HttpRequest, space_id: int) -> HttpResponse:
    """Start a request, or resume the open one where it stopped."""
    space = space_or_404(request, space_id)
    institution = selectors.filing_institution(space=space)
    if institution is None:
        raise Http404
    if request.method == "POST":
        try:
            draft = services.request_start(
                by=user_of(request), space=space, institution=institution
            )
        except ApplicationError as error:
            return page(request, "refused.html", space=space, message=str(error), status=403)
        return redirect(resume_url(space, draft))
    current = selectors.open_request(space=space)
    if current is not None and current.status == RequestStatus.DRAFT:
        return redirect(resume_url(space, current))
    if current is not None and current.status == RequestStatus.SIGNED:
        return redirect(url("request_transmit", space.pk))
    if current is not None:
        return redirect(url("request_sent", space.pk))
    if services.employer_of_space(space=space, institution=institution) is None:
        return page(request, "refused.html", space=space, message="", status=403)
    return page(
        request,
        "start.html",
        space=space,
        institution=institution,
        latest=selectors.latest_request(space=space),
        low=services.SECURITY_CODE_LENGTH[0],
        high=services.SECURITY_CODE_LENGTH[1],
        deadline_days=settings.MANDAT_ACTIVATION_DEADLINE_DAYS,
        back_url=reverse("portal:space", args=[space.pk]),
    )


@wizard(RequestStatus.DRAFT)
def request_consent(
    request: HttpRequest, space: Space, draft: CertificationRequest
) -> HttpResponse:
    errors = PageErrors("consent")
    if request.method == "POST":
        form = forms.ConsentForm(request.POST)
        form.is_valid()
        try:
            services.request_consent(
                by=user_of(request), request=draft, consent=bool(form.cleaned_data.get("consent"))
            )
        except ApplicationError as error:
            errors.add_error(error)
        else:
            return after(request, space, draft, "request_filer")
    return page(
        request,
        "consent.html",
        errors,
        space=space,
        draft=draft,
        back_url=reverse("portal:space", args=[space.pk]),
    )


@wizard(RequestStatus.DRAFT)
def request_filer(request: HttpRequest, space: Space, draft: CertificationRequest) -> HttpResponse:
    errors = PageErrors("name", "email", "phone")
    user = user_of(request)
    values = {
        "name": draft.filer_name or user.get_full_name(),
        "email": draft.filer_email or user.email,
        "phone": draft.filer_phone,
    }
    if request.method == "POST":
        form = forms.FilerForm(request.POST)
        form.is_valid()
        values = {key: form.cleaned_data.get(key) or "" for key in values}
        try:
            services.request_set_filer(by=user, request=draft, **values)
        except ApplicationError as error:
            errors.add_error(error)
        else:
            return after(request, space, draft, "request_employer")
    return page(
        request,
        "filer.html",
        errors,
        space=space,
        values=values,
        back_url=step_url(request, "request_consent", space),
    )


@wizard(RequestStatus.DRAFT)
def request_employer(
    request: HttpRequest, space: Space, draft: CertificationRequest
) -> HttpResponse:
    errors = PageErrors("employer_number", "employer_name")
    values = {
        "employer_number": draft.employer_number_typed,
        "employer_name": draft.employer_name_typed,
    }
    if request.method == "POST":
        form = forms.EmployerForm(request.POST)
        form.is_valid()
        values = {key: form.cleaned_data.get(key) or "" for key in values}
        try:
            services.request_set_employer(by=user_of(request), request=draft, **values)
        except ApplicationError as error:
            errors.add_error(error)
        else:
            return after(request, space, draft, "request_representative")
    return page(
        request,
        "employer.html",
        errors,
        space=space,
        values=values,
        back_url=step_url(request, "request_filer", space),
    )


@wizard(RequestStatus.DRAFT)
def request_security_code(
    request: HttpRequest, space: Space, draft: CertificationRequest
) -> HttpResponse:
    errors = PageErrors("security_code", "confirmation")
    if request.method == "POST":
        form = forms.SecurityCodeForm(request.POST)
        form.is_valid()
        try:
            services.request_set_security_code(
                by=user_of(request),
                request=draft,
                security_code=form.cleaned_data.get("security_code") or "",
                confirmation=form.cleaned_data.get("confirmation") or "",
            )
        except ApplicationError as error:
            errors.add_error(error)
        else:
            return redirect(url("request_check", space.pk))
    low, high = services.SECURITY_CODE_LENGTH
    return page(
        request,
        "security_code.html",
        errors,
        space=space,
        low=low,
        high=high,
        already_set=bool(draft.security_code_hash),
        back_url=last_representative_url(request, space, draft),
    )


@wizard(RequestStatus.DRAFT)
def request_check(request: HttpRequest, space: Space, draft: CertificationRequest) -> HttpResponse:
    """Check your answers, each with a link to change it."""
    if services.missing_steps(draft):
        return redirect(resume_url(space, draft))
    return page(
        request,
        "check.html",
        space=space,
        draft=draft,
        delegations=selectors.delegations_of(request=draft),
        back_url=url("request_security_code", space.pk),
    )


@assurance_required
@wizard(RequestStatus.DRAFT)
def request_sign(request: HttpRequest, space: Space, draft: CertificationRequest) -> HttpResponse:
    """Sign the request document: with the person's own certificate, or the platform's seal."""
    if services.missing_steps(draft):
        return redirect(resume_url(space, draft))
    errors = PageErrors("certificate", "passphrase")
    if request.method == "POST":
        form = forms.SignForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data.get("certificate")
            certificate = None
            if upload is not None:
                certificate = services.SignerCertificate(
                    pkcs12=upload.read(),
                    passphrase=(form.cleaned_data.get("passphrase") or "").encode(),
                )
            try:
                services.request_sign(by=user_of(request), request=draft, certificate=certificate)
            except ApplicationError as error:
                errors.add_error(error)
            else:
                return redirect(url("request_transmit", space.pk))
        else:
            errors.add_form(form)
    return page(
        request,
        "sign.html",
        errors,
        space=space,
        draft=draft,
        back_url=url("request_check", space.pk),
    )


@assurance_required
@wizard(RequestStatus.SIGNED)
def request_transmit(
    request: HttpRequest, space: Space, draft: CertificationRequest
) -> HttpResponse:
    """The signed request, ready to send: the first of the two questions."""
    return page(request, "transmit.html", space=space, draft=draft)


@assurance_required
@wizard(RequestStatus.SIGNED)
def request_confirm(
    request: HttpRequest, space: Space, draft: CertificationRequest
) -> HttpResponse:
    """The second question before sending: are you sure?"""
    errors = PageErrors("confirm")
    if request.method == "POST":
        form = forms.TransmitForm(request.POST)
        form.is_valid()
        try:
            services.request_transmit(
                by=user_of(request), request=draft, confirmed=bool(form.cleaned_data.get("confirm"))
            )
        except ApplicationError as error:
            errors.add_error(error)
        else:
            return redirect(url("request_sent", space.pk))
    return page(
        request,
        "confirm.html",
        errors,
        space=space,
        draft=draft,
        back_url=url("request_transmit", space.pk),
    )


@require_POST
@wizard(RequestStatus.SIGNED)
def request_reopen(request: HttpRequest, space: Space, draft: CertificationRequest) -> HttpResponse:
    """Change a signed request: it goes back to a draft and must be signed again."""
    try:
        services.request_reopen(by=user_of(request), request=draft)
    except ApplicationError as error:
        return page(request, "transmit.html", space=space, draft=draft, message=str(error))
    return redirect(url("request_check", space.pk))


@login_required
def request_sent(request: HttpRequest, space_id: int) -> HttpResponse:
    """Where the latest request stands once it has left the space."""
    space = space_or_404(request, space_id)
    latest = selectors.latest_request(space=space)
    if latest is None or latest.status in (RequestStatus.DRAFT, RequestStatus.SIGNED):
        return redirect(url("request", space.pk))
    return page(
        request,
        "sent.html",
        space=space,
        draft=latest,
        reference=reference(latest),
        promise_hours=settings.MANDAT_DISPATCH_PROMISE_HOURS,
    )


@login_required
def request_signed_pdf(request: HttpRequest, space_id: int, request_id: int) -> HttpResponse:
    space = admin_space_or_404(request, space_id)  # the filer's data: administrators only
    signed = selectors.signed_request(space=space, request_id=request_id)
    if signed is None or signed.signed_pdf is None:
        raise Http404
    response = HttpResponse(bytes(signed.signed_pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{reference(signed)}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
