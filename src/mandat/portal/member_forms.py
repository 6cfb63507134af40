"""Parsing of the Members pages (procedure D).

The forms only read what was typed; who may be added and to which clients a
member may be limited are the selectors' and services' to say.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Domain
from mandat.spaces.models import Role

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ALL, SOME = "all", "some"
#: The most employer numbers one restriction takes: a large firm's whole client list.
MAX_CLIENT_LINES = 20_000


def _required(message: StrOrPromise) -> dict[str, StrOrPromise]:
    return {"required": message, "invalid_choice": message}


class WhoForm(forms.Form):
    """The person to add: an e-mail address or a national identification number."""

    person = forms.CharField(
        max_length=254,
        error_messages=_required(
            _("Enter the person's e-mail address or national identification number.")
        ),
    )

    @property
    def is_email(self) -> bool:
        return "@" in str(self.cleaned_data.get("person", ""))


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        choices=Role.choices,
        error_messages=_required(_("Choose administrator or collaborator.")),
    )


class RestrictionsForm(forms.Form):
    """Limit a collaborator to some clients (employer numbers) and/or some domains."""

    clients_scope = forms.ChoiceField(
        choices=[(ALL, ALL), (SOME, SOME)],
        error_messages=_required(_("Say whether this person works for all clients or some.")),
    )
    clients = forms.CharField(required=False, widget=forms.Textarea, max_length=400_000)
    domains_scope = forms.ChoiceField(
        choices=[(ALL, ALL), (SOME, SOME)],
        error_messages=_required(_("Say whether this person works in all domains or some.")),
    )
    domains = forms.MultipleChoiceField(required=False)

    def __init__(self, *args: object, domains: Iterable[Domain], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["domains"]
        assert isinstance(field, forms.MultipleChoiceField)  # noqa: S101
        field.choices = [(str(d.pk), d.name) for d in domains]
        field.error_messages["invalid_choice"] = _("Choose domains from the list.")

    def clean(self) -> dict[str, object] | None:
        data = super().clean() or {}
        if data.get("clients_scope") == SOME:
            lines = self.client_lines
            if not any(line.strip() for line in lines):
                self.add_error("clients", _("Enter at least one employer number, one per line."))
            elif len(lines) > MAX_CLIENT_LINES:
                self.add_error(
                    "clients",
                    _("Enter at most %(count)s employer numbers.") % {"count": MAX_CLIENT_LINES},
                )
        if data.get("domains_scope") == SOME and not data.get("domains"):
            self.add_error("domains", _("Choose at least one domain."))
        return data

    @property
    def client_lines(self) -> list[str]:
        return str(self.cleaned_data.get("clients") or "").splitlines()

    @property
    def domain_ids(self) -> list[int]:
        return [int(value) for value in self.cleaned_data.get("domains") or []]
