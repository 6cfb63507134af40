"""Parsing of the registry pages. The forms ask for what is missing; the services say the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Institution
from mandat.registry import services as registry
from mandat.registry.identifiers import Scheme
from mandat.registry.models import Language
from mandat.registry.selectors import BOTH, EMPLOYERS, REPRESENTATIVES

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _text(required: StrOrPromise | None, max_length: int = 200) -> forms.CharField:
    if required is None:
        return forms.CharField(required=False, max_length=max_length)
    return forms.CharField(max_length=max_length, error_messages={"required": required})


def _choice(choices: Any, required: StrOrPromise) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=choices, error_messages={"required": required, "invalid_choice": required}
    )


class SearchForm(forms.Form):
    """The registry search (GET). Anything unknown falls back to searching everything."""

    q = forms.CharField(required=False, max_length=200)
    kind = forms.ChoiceField(
        required=False,
        choices=[
            (BOTH, _("Employers and representatives")),
            (EMPLOYERS, _("Employers")),
            (REPRESENTATIVES, _("Representatives")),
        ],
    )

    def query(self) -> tuple[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return " ".join((data.get("q") or "").split()), data.get("kind") or BOTH


class AddressForm(forms.Form):
    address_line1 = _text(_("Enter the address."))
    address_line2 = _text(None)
    postcode = _text(_("Enter the postcode."), max_length=20)
    city = _text(_("Enter the city."), max_length=100)
    country = forms.CharField(
        max_length=2,
        min_length=2,
        error_messages={
            "required": _("Enter the country as a two-letter code, like LU."),
            "min_length": _("Enter the country as a two-letter code, like LU."),
            "max_length": _("Enter the country as a two-letter code, like LU."),
        },
    )

    def address(self) -> registry.Address:
        data = self.cleaned_data
        return registry.Address(
            address_line1=data["address_line1"],
            address_line2=data["address_line2"],
            postcode=data["postcode"],
            city=data["city"],
            country=data["country"].upper(),
        )


class OrganisationFields(forms.Form):
    scheme = _choice(Scheme.choices, _("Choose the kind of identifier."))
    identifier = _text(_("Enter the organisation's identifier."), max_length=40)


class EmployerEditForm(AddressForm):
    name = _text(_("Enter the employer's name."))
    #: Not ``language``: the page header's language switcher already has that id.
    correspondence_language = _choice(Language.choices, _("Choose the correspondence language."))


class EmployerCreateForm(EmployerEditForm, OrganisationFields):
    institution = _choice([], _("Choose the institution."))
    employer_number = _text(_("Enter the employer number."), max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["institution"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101
        field.choices = [(i.code, i.name) for i in Institution.objects.order_by("code")]

    def chosen_institution(self) -> Institution:
        return Institution.objects.get(code=self.cleaned_data["institution"])


class RepresentativeEditForm(AddressForm):
    denomination = _text(_("Enter the representative's name."))


class RepresentativeCreateForm(RepresentativeEditForm, OrganisationFields):
    registration_number = _text(_("Enter the registration number."), max_length=40)
