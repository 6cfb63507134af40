"""A representative's clients: the list, one client, acting for it, and renouncing a mandate."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mandat.accounts.assurance import assurance_required
from mandat.catalog.models import Domain, Level
from mandat.certification.forms import PageErrors
from mandat.certification.pages import space_or_404, user_of
from mandat.core.errors import ApplicationError
from mandat.mandates import services as mandate_services
from mandat.mandates.models import EndCause, Mandate, MandateKind
from mandat.portal import acting, client_selectors
from mandat.portal.client_selectors import ClientQuery, HeldMandate
from mandat.spaces.models import Space
from mandat.spaces.selectors import is_admin

SORT_CHOICES = [
    ("name", _("Name, A to Z")),
    ("-name", _("Name, Z to A")),
    ("number", _("Employer number, ascending")),
    ("-number", _("Employer number, descending")),
    ("since", _("Client since, oldest first")),
    ("-since", _("Client since, newest first")),
]
LEVEL_CHOICES = [("", _("Any level")), (Level.CONSULT, _("Consult only")), (Level.ACT, _("Act"))]
SEARCH_MAX = 100


class ClientFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Name or employer number"),
        required=False,
        max_length=SEARCH_MAX,
        error_messages={"max_length": _("Enter at most %(limit_value)d characters to search for.")},
    )
    domain = forms.ChoiceField(
        label=_("Domain"),
        required=False,
        error_messages={"invalid_choice": _("Choose a domain from the list.")},
    )
    level = forms.ChoiceField(
        label=_("Level"),
        required=False,
        choices=LEVEL_CHOICES,
        error_messages={"invalid_choice": _("Choose a level from the list.")},
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=SORT_CHOICES,
        error_messages={"invalid_choice": _("Choose an order from the list.")},
    )
    page = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={
            "invalid": _("The page number must be a whole number."),
            "min_value": _("The page number must be 1 or more."),
        },
    )

    def __init__(self, *args: object, domains: list[Domain], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.domains = {domain.code: domain for domain in domains}
        field = self.fields["domain"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = [("", _("All domains")), *((d.code, d.name) for d in domains)]


def _query(form: ClientFilterForm) -> tuple[ClientQuery, PageErrors]:
    """The query from the valid fields; each invalid one is reported and left out."""
    errors = PageErrors("q", "domain", "level", "sort", "page")
    form.is_valid()
    errors.add_form(form)
    data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
    query = ClientQuery(
        search=str(data.get("q") or ""),
        domain=form.domains.get(str(data.get("domain") or "")),
        level=str(data.get("level") or ""),
        sort=str(data.get("sort") or client_selectors.DEFAULT_SORT),
        page=int(data.get("page") or 1),
    )
    return query, errors


def _filters(query: ClientQuery) -> dict[str, str]:
    """The query string of the current filters, without the page (links keep it)."""
    params = {
        "q": query.search,
        "domain": query.domain.code if query.domain else "",
        "level": query.level,
        "sort": query.sort if query.sort != client_selectors.DEFAULT_SORT else "",
    }
    return {key: value for key, value in params.items() if value}


def _page_links(
    page: client_selectors.ClientPage, filters: dict[str, str]
) -> list[dict[str, object]]:
    """Links to the first, last and nearby pages, with gaps marked by ``None`` numbers."""
    wanted = {1, page.pages, *range(page.page - 2, page.page + 3)}
    numbers = sorted(n for n in wanted if 1 <= n <= page.pages)
    links: list[dict[str, object]] = []
    previous = 0
    for number in numbers:
        if number - previous > 1:
            links.append({"number": None, "href": ""})
        links.append({"number": number, "href": "?" + urlencode({**filters, "page": number})})
        previous = number
    return links


@require_GET
@login_required
def clients(request: HttpRequest, space_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    domains = client_selectors.client_domains()
    form = ClientFilterForm(request.GET, domains=domains)
    query, errors = _query(form)
    page = client_selectors.client_page(user_id=user_of(request).pk, space_id=space.pk, query=query)
    filters = _filters(query)
    context = {
        "space": space,
        "form": form,
        "errors": errors,
        "query": query,
        "page": page,
        "domains": domains,
        "level_choices": LEVEL_CHOICES,
        "sort_choices": SORT_CHOICES,
        "page_links": _page_links(page, filters),
        "prev_href": "?" + urlencode({**filters, "page": page.page - 1}) if page.page > 1 else "",
        "next_href": (
            "?" + urlencode({**filters, "page": page.page + 1}) if page.page < page.pages else ""
        ),
        "csv_href": "?" + urlencode(filters) if filters else "",
        "filtered": bool(filters.keys() - {"sort"}),
        # Translated once, not once per mandate of the page.
        "act_label": str(_("Act")),
        "consult_label": str(_("Consult")),
    }
    return render(request, "portal/clients.html", context)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (OWASP)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


class _Line:
    """A file-like object that hands back what the csv writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(
    *, user_id: int, space: Space, query: ClientQuery, domains: list[Domain]
) -> Iterator[str]:
    # Words are translated now: the rows stream after the view has returned.
    writer = csv.writer(_Line())
    levels = {value: str(label) for value, label in Level.choices}
    header = [
        str(_("Employer")),
        str(_("Employer number")),
        *(d.name for d in domains),
        str(_("Client since")),
    ]
    return _csv_rows(
        writer, header, levels, user_id=user_id, space=space, query=query, domains=domains
    )


def _csv_rows(
    writer: Any,
    header: list[str],
    levels: dict[str, str],
    *,
    user_id: int,
    space: Space,
    query: ClientQuery,
    domains: list[Domain],
) -> Iterator[str]:
    yield "\ufeff" + writer.writerow([_cell(title) for title in header])
    for row in client_selectors.iter_clients(user_id=user_id, space_id=space.pk, query=query):
        held = {m.domain.pk: m for m in row.mandates}
        cells = [
            row.name,
            row.employer_number,
            *(levels[held[d.pk].level] if d.pk in held else "" for d in domains),
            row.since.date().isoformat() if row.since else "",
        ]
        yield writer.writerow([_cell(cell) for cell in cells])


@require_GET
@login_required
def clients_csv(request: HttpRequest, space_id: int) -> StreamingHttpResponse:
    """Every client the list shows with these filters, as CSV (UTF-8 with BOM, for Excel)."""
    space = space_or_404(request, space_id)
    domains = client_selectors.client_domains()
    query, _errors = _query(ClientFilterForm(request.GET, domains=domains))
    response = StreamingHttpResponse(
        _csv_lines(user_id=user_of(request).pk, space=space, query=query, domains=domains),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="clients-{space.pk}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _client_mandates(request: HttpRequest, space: Space, employer_id: int) -> list[HeldMandate]:
    mandates = client_selectors.client_of_space(
        user_id=user_of(request).pk, space_id=space.pk, employer_id=employer_id
    )
    if not mandates:
        raise Http404(str(_("This client does not exist or you may not see it.")))
    return mandates


@require_GET
@login_required
def client(request: HttpRequest, space_id: int, employer_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    mandates = _client_mandates(request, space, employer_id)
    employer = client_selectors.employer_named(employer_id)
    current = acting.current(request)
    context = {
        "space": space,
        "employer": employer,
        "mandates": mandates,
        "is_admin": is_admin(user=user_of(request), space=space),
        "acting_here": current is not None
        and (current.space_id, current.employer_id) == (space.pk, employer_id),
    }
    return render(request, "portal/client.html", context)


@require_POST
@login_required
def act_for(request: HttpRequest, space_id: int, employer_id: int) -> HttpResponse:
    """Remember that the person now works for this client (the banner shows it on every page)."""
    space = space_or_404(request, space_id)
    _client_mandates(request, space, employer_id)
    acting.start(request, space_id=space.pk, employer_id=employer_id)
    return redirect("portal:client", space.pk, employer_id)


@require_POST
@login_required
def act_stop(request: HttpRequest) -> HttpResponse:
    """Forget the client; back to the page the person was on."""
    acting.stop(request)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("portal:home")
    return redirect(target)


def _renounceable(request: HttpRequest, space: Space, employer_id: int, mandate_id: int) -> Mandate:
    """An active obtained mandate of this client in this space, for an administrator; else 404."""
    held = _client_mandates(request, space, employer_id)
    if mandate_id not in {m.mandate_id for m in held} or not is_admin(
        user=user_of(request), space=space
    ):
        raise Http404(str(_("This mandate does not exist or you may not renounce it.")))
    mandate = (
        Mandate.objects.select_related("employer", "domain")
        .filter(pk=mandate_id, kind=MandateKind.OBTAINED)
        .first()
    )
    if mandate is None:
        raise Http404(str(_("This mandate does not exist or you may not renounce it.")))
    return mandate


@require_http_methods(["GET", "POST"])
@login_required
@assurance_required
def renounce(
    request: HttpRequest, space_id: int, employer_id: int, mandate_id: int
) -> HttpResponse:
    """Confirm, then give a mandate up: the space loses this domain of this client at once."""
    space = space_or_404(request, space_id)
    mandate = _renounceable(request, space, employer_id, mandate_id)
    if request.method == "POST":
        try:
            mandate_services.mandate_renounce(by=user_of(request), mandate=mandate)
        except ApplicationError as error:
            raise Http404(str(error)) from error
        return redirect("portal:renounced", space.pk, employer_id, mandate.pk)
    others = [
        m
        for m in client_selectors.client_of_space(
            user_id=user_of(request).pk, space_id=space.pk, employer_id=employer_id
        )
        if m.mandate_id != mandate.pk
    ]
    context = {"space": space, "mandate": mandate, "others": others}
    return render(request, "portal/renounce_confirm.html", context)


@require_GET
@login_required
def renounced(
    request: HttpRequest, space_id: int, employer_id: int, mandate_id: int
) -> HttpResponse:
    space = space_or_404(request, space_id)
    mandate = (
        Mandate.objects.select_related("employer", "domain")
        .filter(
            pk=mandate_id,
            employer_id=employer_id,
            grantee_space=space,
            end_cause=EndCause.RENOUNCED,
        )
        .first()
    )
    # Only administrators renounce: a collaborator, perhaps restricted away from this
    # client, does not read what became of its mandate.
    if mandate is None or not is_admin(user=user_of(request), space=space):
        raise Http404(str(_("This mandate does not exist or you may not see it.")))
    still_client = bool(
        client_selectors.client_of_space(
            user_id=user_of(request).pk, space_id=space.pk, employer_id=employer_id
        )
    )
    context = {"space": space, "mandate": mandate, "still_client": still_client}
    return render(request, "portal/renounce_done.html", context)
