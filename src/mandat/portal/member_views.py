"""The Members tab (procedure D): list, add (one question per page), restrict, remove, leave."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mandat.accounts import selectors as account_selectors
from mandat.accounts.assurance import assurance_required
from mandat.accounts.models import User
from mandat.catalog.models import Domain
from mandat.certification.forms import PageErrors
from mandat.certification.pages import admin_space_or_404, space_or_404, user_of
from mandat.core.errors import ApplicationError, NotFoundOrForbidden
from mandat.portal import member_forms, member_selectors
from mandat.registry.models import Employer
from mandat.spaces import selectors as space_selectors
from mandat.spaces import services as space_services
from mandat.spaces.models import Membership, Role, Space

_RESTRICTION_FIELDS = ("clients_scope", "clients", "domains_scope", "domains")
#: How many wrong lines an error names before it only counts the rest.
_BAD_LINES_SHOWN = 10


def _page(request: HttpRequest, template: str, **context: Any) -> HttpResponse:
    context.setdefault("errors", None)
    return render(request, f"portal/{template}", context)


def _member_or_404(space: Space, membership_id: int) -> Membership:
    try:
        return space_selectors.access_membership(space=space, membership_id=membership_id)
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error


def _domains() -> list[Domain]:
    return list(
        Domain.objects.select_related("institution").order_by("institution__code", "position")
    )


def _url(name: str, *args: object, back: bool = False) -> str:
    address = reverse(f"portal:{name}", args=args)
    return f"{address}?return=check" if back else address


# The list and one member


@login_required
def members(request: HttpRequest, space_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    user = user_of(request)
    removed = request.session.pop(f"member-removed-{space.pk}", None)
    return _page(
        request,
        "members.html",
        space=space,
        rows=member_selectors.member_rows(space=space, viewer=user),
        is_admin=space_selectors.is_admin(user=user, space=space),
        me=space_selectors.membership_of(user=user, space=space),
        removed=removed if isinstance(removed, str) else None,
    )


@login_required
def member(request: HttpRequest, space_id: int, membership_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    membership = _member_or_404(space, membership_id)
    return _page(
        request,
        "member_detail.html",
        space=space,
        row=member_selectors.member_row(membership=membership, viewer=user_of(request)),
        is_admin=space_selectors.is_admin(user=user_of(request), space=space),
        is_me=membership.user_id == user_of(request).pk,
        saved=request.GET.get("saved") == "1",
        back_url=_url("members", space.pk),
    )


# Restrictions, shared by the add flow and the restrictions page


def _restriction_errors(
    space: Space, form: member_forms.RestrictionsForm, errors: PageErrors
) -> list[Employer] | None:
    """The clients the form names, or None when some lines are not clients (errors say which)."""
    errors.add_form(form)
    if errors or form.cleaned_data.get("clients_scope") != member_forms.SOME:
        return None if errors else []
    found = space_selectors.clients_by_numbers(space=space, lines=form.client_lines)
    if found.bad_lines:
        named = ", ".join(
            _("line %(line)s (%(value)s)") % {"line": line, "value": value}
            for line, value in found.bad_lines[:_BAD_LINES_SHOWN]
        )
        more = len(found.bad_lines) - _BAD_LINES_SHOWN
        message = _("These lines are not employer numbers of clients of this space: %(lines)s.") % {
            "lines": named
        }
        if more > 0:
            message += " " + ngettext(
                "And %(count)s more line.", "And %(count)s more lines.", more
            ) % {"count": more}
        errors.add("clients", message)
        return None
    return found.clients


def _restriction_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "clients_scope": data.get("clients_scope", member_forms.ALL),
        "clients": data.get("clients", ""),
        "domains_scope": data.get("domains_scope", member_forms.ALL),
        "domains": [str(value) for value in data.get("domains", [])],
    }


def _restrictions_from(
    space: Space, data: dict[str, Any]
) -> tuple[list[Employer] | None, list[Domain] | None]:
    """The saved answers as the service takes them: None for "all"."""
    employers = None
    if data.get("clients_scope") == member_forms.SOME:
        lines = str(data.get("clients", "")).splitlines()
        employers = space_selectors.clients_by_numbers(space=space, lines=lines).clients
    domains = None
    if data.get("domains_scope") == member_forms.SOME:
        domains = list(Domain.objects.filter(pk__in=data.get("domains", [])))
    return employers, domains


# Adding a member: who → role → restrictions → check → confirmation


def _draft_key(space: Space) -> str:
    return f"member-add-{space.pk}"


def _draft(request: HttpRequest, space: Space) -> dict[str, Any]:
    kept = request.session.get(_draft_key(space))
    return dict(kept) if isinstance(kept, dict) else {}


def _keep(request: HttpRequest, space: Space, draft: dict[str, Any]) -> None:
    request.session[_draft_key(space)] = draft


def _returning(request: HttpRequest) -> bool:
    return request.GET.get("return") == "check"


@login_required
def member_add(request: HttpRequest, space_id: int) -> HttpResponse:
    """Who do you add? An e-mail address or a national identification number."""
    space = admin_space_or_404(request, space_id)
    draft = _draft(request, space)
    errors = PageErrors("person")
    person = str(draft.get("person", ""))
    if request.method == "POST":
        form = member_forms.WhoForm(request.POST)
        person = request.POST.get("person", "")
        if form.is_valid():
            typed = form.cleaned_data["person"]
            try:
                found = account_selectors.active_user_by_contact(
                    email=typed if form.is_email else "",
                    national_id="" if form.is_email else typed,
                )
            except ApplicationError as error:
                errors.add("person", error)
            else:
                if space_selectors.membership_of(user=found, space=space) is not None:
                    errors.add("person", _("This person is already a member of this space."))
                else:
                    draft.update(person=typed, user=found.pk)
                    _keep(request, space, draft)
                    if _returning(request) and draft.get("role"):
                        return redirect(_url("member_add_check", space.pk))
                    return redirect(_url("member_add_role", space.pk, back=_returning(request)))
        else:
            errors.add_form(form)
    return _page(
        request,
        "member_add_who.html",
        space=space,
        errors=errors,
        person=person,
        back_url=_url("members", space.pk),
    )


@login_required
def member_add_role(request: HttpRequest, space_id: int) -> HttpResponse:
    space = admin_space_or_404(request, space_id)
    draft = _draft(request, space)
    if not draft.get("user"):
        return redirect(_url("member_add", space.pk))
    errors = PageErrors("role")
    chosen = str(draft.get("role", ""))
    if request.method == "POST":
        form = member_forms.RoleForm(request.POST)
        chosen = request.POST.get("role", "")
        if form.is_valid():
            draft["role"] = form.cleaned_data["role"]
            if draft["role"] == Role.ADMIN:
                for name in _RESTRICTION_FIELDS:
                    draft.pop(name, None)
                _keep(request, space, draft)
                return redirect(_url("member_add_check", space.pk))
            _keep(request, space, draft)
            if _returning(request) and draft.get("clients_scope"):
                return redirect(_url("member_add_check", space.pk))
            return redirect(_url("member_add_restrictions", space.pk, back=_returning(request)))
        errors.add_form(form)
    return _page(
        request,
        "member_add_role.html",
        space=space,
        errors=errors,
        chosen=chosen,
        back_url=_url("member_add", space.pk),
    )


@login_required
def member_add_restrictions(request: HttpRequest, space_id: int) -> HttpResponse:
    space = admin_space_or_404(request, space_id)
    draft = _draft(request, space)
    if not draft.get("user") or draft.get("role") != Role.COLLABORATOR:
        return redirect(_url("member_add", space.pk))
    domains = _domains()
    errors = PageErrors(*_RESTRICTION_FIELDS)
    values = _restriction_values(draft)
    if request.method == "POST":
        form = member_forms.RestrictionsForm(request.POST, domains=domains)
        values = _restriction_values(
            {**request.POST.dict(), "domains": request.POST.getlist("domains")}
        )
        if form.is_valid() and _restriction_errors(space, form, errors) is not None:
            draft.update(_restriction_values(form.cleaned_data))
            _keep(request, space, draft)
            return redirect(_url("member_add_check", space.pk))
        if not form.is_valid():
            errors.add_form(form)
    return _page(
        request,
        "member_add_restrictions.html",
        space=space,
        errors=errors,
        values=values,
        domains=domains,
        back_url=_url("member_add_role", space.pk),
    )


@login_required
@assurance_required
def member_add_check(request: HttpRequest, space_id: int) -> HttpResponse:
    """Check your answers, then confirm: the member is added with their restrictions at once.

    The page repeats what the administrator typed, never the name of the account found:
    a look-up by e-mail or national number must not tell who that person is. The
    name shows once they are a member.
    """
    space = admin_space_or_404(request, space_id)
    draft = _draft(request, space)
    user_id = draft.get("user")
    person = User.objects.filter(pk=user_id).first() if isinstance(user_id, int) else None
    if person is None or draft.get("role") not in Role.values:
        return redirect(_url("member_add", space.pk))
    if draft["role"] == Role.COLLABORATOR and not draft.get("clients_scope"):
        return redirect(_url("member_add_restrictions", space.pk))
    errors = PageErrors("confirm")
    employers, domains = _restrictions_from(space, draft)
    if request.method == "POST":
        try:
            membership = space_services.member_add(
                by=user_of(request),
                space=space,
                user=person,
                role=draft["role"],
                employers=employers,
                domains=domains,
            )
        except ApplicationError as error:
            errors.add("confirm", error)
        else:
            request.session.pop(_draft_key(space), None)
            return redirect(_url("member_added", space.pk, membership.pk))
    return _page(
        request,
        "member_add_check.html",
        space=space,
        errors=errors,
        draft=draft,
        employers=employers,
        domains=domains,
        back_url=_url(
            "member_add_restrictions" if draft["role"] == Role.COLLABORATOR else "member_add_role",
            space.pk,
        ),
    )


@login_required
def member_added(request: HttpRequest, space_id: int, membership_id: int) -> HttpResponse:
    space = admin_space_or_404(request, space_id)
    membership = _member_or_404(space, membership_id)
    return _page(
        request,
        "member_added.html",
        space=space,
        row=member_selectors.member_row(membership=membership, viewer=user_of(request)),
    )


# Changing a collaborator's restrictions


@login_required
@assurance_required
def member_restrict(request: HttpRequest, space_id: int, membership_id: int) -> HttpResponse:
    space = admin_space_or_404(request, space_id)
    membership = _member_or_404(space, membership_id)
    if membership.role != Role.COLLABORATOR:
        raise Http404(_("An administrator cannot be restricted."))
    domains = _domains()
    errors = PageErrors(*_RESTRICTION_FIELDS)
    values = {
        "clients_scope": member_forms.SOME if membership.restrict_employers else member_forms.ALL,
        "clients": "\n".join(member_selectors.allowed_employer_numbers(membership=membership)),
        "domains_scope": member_forms.SOME if membership.restrict_domains else member_forms.ALL,
        "domains": [str(pk) for pk in membership.allowed_domains.values_list("pk", flat=True)],
    }
    if request.method == "POST":
        form = member_forms.RestrictionsForm(request.POST, domains=domains)
        values = _restriction_values(
            {**request.POST.dict(), "domains": request.POST.getlist("domains")}
        )
        clients = _restriction_errors(space, form, errors) if form.is_valid() else None
        if not form.is_valid():
            errors.add_form(form)
        if clients is not None:
            some_clients = form.cleaned_data["clients_scope"] == member_forms.SOME
            some_domains = form.cleaned_data["domains_scope"] == member_forms.SOME
            chosen = [d for d in domains if d.pk in form.domain_ids]
            try:
                space_services.member_restrict(
                    by=user_of(request),
                    membership=membership,
                    employers=clients if some_clients else None,
                    domains=chosen if some_domains else None,
                )
            except ApplicationError as error:
                errors.add_error(error)
            else:
                return redirect(_url("member", space.pk, membership.pk) + "?saved=1")
    return _page(
        request,
        "member_restrict.html",
        space=space,
        errors=errors,
        membership=membership,
        values=values,
        domains=domains,
        back_url=_url("member", space.pk, membership.pk),
    )


# Removing a member, or leaving


@login_required
@assurance_required
def member_remove(request: HttpRequest, space_id: int, membership_id: int) -> HttpResponse:
    """Ask, saying what the member loses; then remove them at once."""
    space = admin_space_or_404(request, space_id)
    membership = _member_or_404(space, membership_id)
    if membership.user_id == user_of(request).pk:
        return redirect(_url("member_leave", space.pk))
    errors = PageErrors("remove")
    if request.method == "POST":
        try:
            space_services.member_remove(by=user_of(request), membership=membership)
        except ApplicationError as error:
            errors.add("remove", error)
        else:
            request.session[f"member-removed-{space.pk}"] = _name(membership.user)
            return redirect(_url("members", space.pk))
    return _page(
        request,
        "member_remove.html",
        space=space,
        errors=errors,
        membership=membership,
        loss=member_selectors.what_member_loses(membership=membership),
        back_url=_url("member", space.pk, membership.pk),
    )


@login_required
def member_leave(request: HttpRequest, space_id: int) -> HttpResponse:
    space = space_or_404(request, space_id)
    membership = space_selectors.membership_of(user=user_of(request), space=space)
    if membership is None:  # pragma: no cover - space_or_404 already refuses non-members
        raise Http404
    errors = PageErrors("remove")
    if request.method == "POST":
        try:
            space_services.member_leave(by=user_of(request), space=space)
        except ApplicationError as error:
            errors.add("remove", error)
        else:
            request.session["space-left"] = space.name
            return redirect(_url("member_left"))
    return _page(
        request,
        "member_leave.html",
        space=space,
        errors=errors,
        membership=membership,
        loss=member_selectors.what_member_loses(membership=membership),
        back_url=_url("members", space.pk),
    )


@login_required
def member_left(request: HttpRequest) -> HttpResponse:
    left = request.session.pop("space-left", None)
    if not isinstance(left, str):
        return redirect("portal:home")
    return _page(request, "member_left.html", space_name=left)


def _name(user: User) -> str:
    return user.get_full_name() or user.username
