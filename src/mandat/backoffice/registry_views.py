"""The registry pages: search, an employer's or a representative's page, register and correct."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from mandat.backoffice import registry_selectors as selectors
from mandat.backoffice.gate import agent_of, agent_only
from mandat.backoffice.registry_forms import (
    EmployerCreateForm,
    EmployerEditForm,
    RepresentativeCreateForm,
    RepresentativeEditForm,
    SearchForm,
)
from mandat.certification.forms import PageErrors
from mandat.core.errors import ApplicationError
from mandat.registry import services as registry
from mandat.registry.identifiers import Scheme
from mandat.registry.models import Employer, Language, Representative
from mandat.registry.selectors import registry_search

SEARCH_PAGE_SIZE = 50
ADDRESS_FIELDS = ("address_line1", "address_line2", "postcode", "city", "country")
EMPLOYER_CREATE_FIELDS = (
    "scheme",
    "identifier",
    "institution",
    "employer_number",
    "name",
    *ADDRESS_FIELDS,
    "correspondence_language",
)
EMPLOYER_EDIT_FIELDS = ("name", *ADDRESS_FIELDS, "correspondence_language")
#: Where the services' errors go on the employer pages.
EMPLOYER_FIELDS = {"language": "correspondence_language"}
REPRESENTATIVE_CREATE_FIELDS = (
    "scheme",
    "identifier",
    "registration_number",
    "denomination",
    *ADDRESS_FIELDS,
)
REPRESENTATIVE_EDIT_FIELDS = ("denomination", *ADDRESS_FIELDS)


def _done(request: HttpRequest, message: str) -> None:
    """A confirmation shown as a panel at the top of the next page."""
    messages.success(request, message, extra_tags="panel")


@agent_only
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    text, kind = form.query()
    page = Paginator(registry_search(text=text, kind=kind), SEARCH_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "text": text,
        "kind": kind,
        "page": page,
        "rows": selectors.registry_rows(page),
    }
    return render(request, "backoffice/registry/search.html", context)


@agent_only
@require_GET
def employer_detail(request: HttpRequest, employer_id: int) -> HttpResponse:
    employer = selectors.access_employer(employer_id=employer_id)
    context = {
        "employer": employer,
        "active_mandates": selectors.active_mandates_count(employer),
        "certifications": selectors.certified_spaces(employer),
    }
    return render(request, "backoffice/registry/employer.html", context)


@agent_only
@require_GET
def representative_detail(request: HttpRequest, representative_id: int) -> HttpResponse:
    representative = selectors.access_representative(representative_id=representative_id)
    context = {
        "representative": representative,
        "employers": selectors.employers_of_organisation(representative),
        "mandates_held": selectors.mandates_held_count(representative),
    }
    return render(request, "backoffice/registry/representative.html", context)


def _form_page(
    request: HttpRequest,
    template: str,
    form: forms.Form,
    errors: PageErrors,
    **context: object,
) -> HttpResponse:
    values = request.POST if request.method == "POST" else form.initial
    return render(
        request,
        template,
        {
            "form": form,
            "values": values,
            "errors": errors,
            "scheme_choices": Scheme.choices,
            "language_choices": Language.choices,
            **context,
        },
        status=400 if errors else 200,
    )


@agent_only
@require_http_methods(["GET", "POST"])
def employer_create(request: HttpRequest) -> HttpResponse:
    errors = PageErrors(*EMPLOYER_CREATE_FIELDS)
    if request.method != "POST":
        form = EmployerCreateForm(
            initial={
                "scheme": Scheme.LU_NATIONAL,
                "country": "LU",
                "correspondence_language": Language.FR,
            }
        )
        return _form_page(request, "backoffice/registry/employer_form.html", form, errors)
    form = EmployerCreateForm(request.POST)
    if not form.is_valid():
        errors.add_form(form)
        return _form_page(request, "backoffice/registry/employer_form.html", form, errors)
    data = form.cleaned_data
    try:
        registration = registry.employer_register_with_organisation(
            by=agent_of(request),
            scheme=data["scheme"],
            identifier=data["identifier"],
            institution=form.chosen_institution(),
            employer_number=data["employer_number"],
            name=data["name"],
            address=form.address(),
            language=data["correspondence_language"],
        )
    except ApplicationError as error:
        errors.add_error(error, rename=EMPLOYER_FIELDS)
        return _form_page(request, "backoffice/registry/employer_form.html", form, errors)
    employer = registration.employer
    if registration.organisation_created:
        message = _("Employer %(name)s (%(number)s) registered, with its organisation.")
    else:
        message = _("Employer %(name)s (%(number)s) registered.")
    _done(request, message % {"name": employer.name, "number": employer.employer_number})
    return redirect("backoffice:employer", employer_id=employer.pk)


def _initial(item: Employer | Representative, names: tuple[str, ...]) -> dict[str, object]:
    fields = {value: key for key, value in EMPLOYER_FIELDS.items()}
    return {name: getattr(item, fields.get(name, name)) for name in names}


@agent_only
@require_http_methods(["GET", "POST"])
def employer_edit(request: HttpRequest, employer_id: int) -> HttpResponse:
    employer = selectors.access_employer(employer_id=employer_id)
    errors = PageErrors(*EMPLOYER_EDIT_FIELDS)
    template = "backoffice/registry/employer_form.html"
    if request.method != "POST":
        form = EmployerEditForm(initial=_initial(employer, EMPLOYER_EDIT_FIELDS))
        return _form_page(request, template, form, errors, employer=employer)
    form = EmployerEditForm(request.POST)
    if form.is_valid():
        try:
            registry.employer_update(
                by=agent_of(request),
                employer=employer,
                name=form.cleaned_data["name"],
                address=form.address(),
                language=form.cleaned_data["correspondence_language"],
            )
        except ApplicationError as error:
            errors.add_error(error, rename=EMPLOYER_FIELDS)
        else:
            _done(
                request,
                _("The registry entry of %(name)s is corrected.") % {"name": employer.name},
            )
            return redirect("backoffice:employer", employer_id=employer.pk)
    else:
        errors.add_form(form)
    employer.refresh_from_db()  # the page names the employer as registered, not as typed
    return _form_page(request, template, form, errors, employer=employer)


@agent_only
@require_http_methods(["GET", "POST"])
def representative_create(request: HttpRequest) -> HttpResponse:
    errors = PageErrors(*REPRESENTATIVE_CREATE_FIELDS)
    template = "backoffice/registry/representative_form.html"
    if request.method != "POST":
        form = RepresentativeCreateForm(initial={"scheme": Scheme.LU_NATIONAL, "country": "LU"})
        return _form_page(request, template, form, errors)
    form = RepresentativeCreateForm(request.POST)
    if not form.is_valid():
        errors.add_form(form)
        return _form_page(request, template, form, errors)
    data = form.cleaned_data
    try:
        registration = registry.representative_register_with_organisation(
            by=agent_of(request),
            scheme=data["scheme"],
            identifier=data["identifier"],
            registration_number=data["registration_number"],
            denomination=data["denomination"],
            address=form.address(),
        )
    except ApplicationError as error:
        errors.add_error(error)
        return _form_page(request, template, form, errors)
    representative = registration.representative
    if registration.organisation_created:
        message = _("Representative %(name)s (%(number)s) registered, with its organisation.")
    else:
        message = _("Representative %(name)s (%(number)s) registered.")
    _done(
        request,
        message
        % {"name": representative.denomination, "number": representative.registration_number},
    )
    return redirect("backoffice:representative", representative_id=representative.pk)


@agent_only
@require_http_methods(["GET", "POST"])
def representative_edit(request: HttpRequest, representative_id: int) -> HttpResponse:
    representative = selectors.access_representative(representative_id=representative_id)
    errors = PageErrors(*REPRESENTATIVE_EDIT_FIELDS)
    template = "backoffice/registry/representative_form.html"
    if request.method != "POST":
        form = RepresentativeEditForm(initial=_initial(representative, REPRESENTATIVE_EDIT_FIELDS))
        return _form_page(request, template, form, errors, representative=representative)
    form = RepresentativeEditForm(request.POST)
    if form.is_valid():
        try:
            registry.representative_update(
                by=agent_of(request),
                representative=representative,
                denomination=form.cleaned_data["denomination"],
                address=form.address(),
            )
        except ApplicationError as error:
            errors.add_error(error)
        else:
            _done(
                request,
                _("The registry entry of %(name)s is corrected.")
                % {"name": representative.denomination},
            )
            return redirect("backoffice:representative", representative_id=representative.pk)
    else:
        errors.add_form(form)
    representative.refresh_from_db()
    return _form_page(request, template, form, errors, representative=representative)
