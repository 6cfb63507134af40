"""What the certification pages share: look-ups that 404, URLs, rendering, the wizard's walk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from mandat.accounts.models import User
from mandat.certification import selectors, services
from mandat.certification.forms import PageErrors
from mandat.certification.models import CertificationRequest
from mandat.certification.selectors import RepresentativeAnswers
from mandat.core.errors import NotFoundOrForbidden
from mandat.spaces import selectors as space_selectors
from mandat.spaces.models import Space

P = ParamSpec("P")
StepView = Callable[Concatenate[HttpRequest, Space, CertificationRequest, P], HttpResponse]
#: What Django calls: the request, then the URL's arguments by name (``space_id=...``).
SpaceView = Callable[..., HttpResponse]

#: The page of each step ``services.missing_steps`` may name.
STEP_PAGE = {
    "consent": "request_consent",
    "filer": "request_filer",
    "employer": "request_employer",
    "representatives": "request_representative",
    "security_code": "request_security_code",
}


def user_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - login_required guarantees it
    return request.user


def space_or_404(request: HttpRequest, space_id: int) -> Space:
    """The space if the person is a member of it; the same 404 when missing or forbidden."""
    try:
        return space_selectors.access_space(user=user_of(request), space_id=space_id)
    except NotFoundOrForbidden as error:
        raise Http404(str(error)) from error


def admin_space_or_404(request: HttpRequest, space_id: int) -> Space:
    """A space the person administers; the same 404 as for a missing one otherwise."""
    space = space_or_404(request, space_id)
    if not space_selectors.is_admin(user=user_of(request), space=space):
        raise Http404(_("This page does not exist or you may not open it."))
    return space


def url(name: str, *args: object, **query: str) -> str:
    address = reverse(f"certification:{name}", args=args)
    return f"{address}?{urlencode(query)}" if query else address


def page(
    request: HttpRequest,
    template: str,
    errors: PageErrors | None = None,
    *,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    return render(
        request, f"certification/{template}", {"errors": errors, **context}, status=status
    )


def returning(request: HttpRequest) -> bool:
    """The person came from the summary's "Change" link and goes back to it when done."""
    return request.GET.get("return") == "check"


def step_url(request: HttpRequest, name: str, space: Space, *args: object) -> str:
    """A wizard page's address, remembering that the person came from the summary."""
    if returning(request):
        return url(name, space.pk, *args, **{"return": "check"})
    return url(name, space.pk, *args)


def resume_url(space: Space, draft: CertificationRequest) -> str:
    """The first step still to answer, or the summary when every answer is in."""
    missing = services.missing_steps(draft)
    return url(STEP_PAGE[missing[0]] if missing else "request_check", space.pk)


def after(
    request: HttpRequest, space: Space, draft: CertificationRequest, next_name: str
) -> HttpResponse:
    """Where a saved step leads: the following step, or back to the summary after a change."""
    if returning(request):
        return redirect(resume_url(space, draft))
    return redirect(url(next_name, space.pk))


def wizard(*statuses: str) -> Callable[[StepView[P]], SpaceView]:
    """A page of the space's open request, which must be in one of ``statuses``.

    Any other state sends the person to the start page, which knows where the
    request stands. Only the space's administrators see its request, as in the API
    (``certification.api``): anyone else gets the same 404 as for a missing page.
    """

    def decorate(view: StepView[P]) -> SpaceView:
        @login_required
        def step(
            request: HttpRequest, space_id: int, *args: P.args, **kwargs: P.kwargs
        ) -> HttpResponse:
            space = admin_space_or_404(request, space_id)
            draft = selectors.open_request(space=space)
            if draft is None or draft.status not in statuses:
                return redirect(url("request", space.pk))
            return view(request, space, draft, *args, **kwargs)

        return step

    return decorate


def _answers_key(draft: CertificationRequest) -> str:
    return f"certification-representatives-{draft.pk}"


def answers(request: HttpRequest, draft: CertificationRequest) -> RepresentativeAnswers:
    """The representative answers: the ones being given in the session, else the saved ones."""
    kept = request.session.get(_answers_key(draft))
    if isinstance(kept, dict):
        return RepresentativeAnswers.from_dict(kept)
    return selectors.representative_answers(request=draft)


def keep_answers(
    request: HttpRequest, draft: CertificationRequest, given: RepresentativeAnswers
) -> None:
    request.session[_answers_key(draft)] = given.as_dict()


def forget_answers(request: HttpRequest, draft: CertificationRequest) -> None:
    request.session.pop(_answers_key(draft), None)


def details_url(
    request: HttpRequest, space: Space, given: RepresentativeAnswers, code: str | None = None
) -> str:
    """The representative's details page: once for all domains, or the page of ``code``."""
    if given.same:
        return step_url(request, "request_details_same", space)
    return step_url(request, "request_details", space, code or given.domains[0])


def last_representative_url(request: HttpRequest, space: Space, draft: CertificationRequest) -> str:
    """The page before the security code: the last representative question answered."""
    given = answers(request, draft)
    if given.has and given.domains and given.same is not None:
        return details_url(request, space, given, given.domains[-1])
    return step_url(request, "request_representative", space)
