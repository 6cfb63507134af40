"""Parsing of the certification pages, and the errors they show.

The forms only parse what was typed and ask for what is missing; every business
rule (registry checks, code checks, states) is the services' to say, through
``ApplicationError``, whose ``field`` names the form field it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from mandat.catalog.models import Domain, Level
from mandat.certification.models import CodeKind
from mandat.core.errors import ApplicationError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

YES, NO = "yes", "no"


class PageErrors:
    """Errors of one page, by field, in the order the fields appear (for the summary).

    Each message is shown next to its field and, linked to it, in the summary at
    the top of the page.
    """

    def __init__(self, *order: str, default: str | None = None) -> None:
        self.order = list(order)
        #: where an error that names no field of this page is shown
        self.default = default or order[0]
        self.by_field: dict[str, str] = {}

    def add(self, field: str | None, message: object) -> None:
        name = field if field in self.order else self.default
        self.by_field.setdefault(name, str(message))

    def add_form(self, form: forms.Form) -> None:
        for name, messages in form.errors.items():
            self.add(name, messages[0])

    def add_error(self, error: ApplicationError, *, rename: dict[str, str] | None = None) -> None:
        name = error.field or ""
        self.add((rename or {}).get(name, name), error)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    @property
    def summary(self) -> list[tuple[str, str]]:
        return sorted(self.by_field.items(), key=lambda item: self.order.index(item[0]))


def _required(message: StrOrPromise) -> dict[str, StrOrPromise]:
    return {"required": message, "invalid_choice": message}


def _yes_no(required: StrOrPromise) -> forms.ChoiceField:
    return forms.ChoiceField(choices=[(YES, YES), (NO, NO)], error_messages=_required(required))


class ConsentForm(forms.Form):
    consent = forms.BooleanField(required=False)


class FilerForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    email = forms.CharField(required=False, max_length=254)
    phone = forms.CharField(required=False, max_length=40)


class EmployerForm(forms.Form):
    employer_number = forms.CharField(required=False, max_length=40)
    employer_name = forms.CharField(required=False, max_length=200)


class HasRepresentativeForm(forms.Form):
    has_representative = _yes_no(_("Say whether you have an authorised representative."))


class SameRepresentativeForm(forms.Form):
    same_representative = _yes_no(_("Say whether the representative is the same for each domain."))


class DomainsForm(forms.Form):
    domains = forms.MultipleChoiceField(
        error_messages=_required(_("Choose at least one domain to delegate."))
    )

    def __init__(self, *args: object, domains: Iterable[Domain], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["domains"]
        assert isinstance(field, forms.MultipleChoiceField)  # noqa: S101
        field.choices = [(d.code, d.name) for d in domains]


class RepresentativeForm(forms.Form):
    registration_number = forms.CharField(
        max_length=40,
        error_messages=_required(_("Enter the representative's registration number.")),
    )
    name = forms.CharField(
        max_length=200, error_messages=_required(_("Enter the representative's name."))
    )
    level = forms.ChoiceField(
        choices=Level.choices, error_messages=_required(_("Choose consultation or action."))
    )


class SecurityCodeForm(forms.Form):
    security_code = forms.CharField(required=False, strip=False, max_length=100)
    confirmation = forms.CharField(required=False, strip=False, max_length=100)


class SignForm(forms.Form):
    certificate = forms.FileField(required=False)
    passphrase = forms.CharField(required=False, strip=False, max_length=1000)

    #: A PKCS#12 file holds one certificate and its key: a few kilobytes.
    MAX_CERTIFICATE_BYTES = 1_000_000

    def clean_certificate(self) -> object:
        upload = self.cleaned_data.get("certificate")
        if upload is not None and upload.size > self.MAX_CERTIFICATE_BYTES:
            raise forms.ValidationError(_("The certificate file must be smaller than 1 MB."))
        return upload


class TransmitForm(forms.Form):
    confirm = forms.BooleanField(required=False)


class DomainChoiceForm(forms.Form):
    domain = forms.ChoiceField(
        error_messages=_required(_("Choose the domain you want to certify."))
    )

    def __init__(self, *args: object, domains: Iterable[Domain], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["domain"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101
        field.choices = [(str(d.pk), d.name) for d in domains]


class KindForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (CodeKind.HOLDER.value, CodeKind.HOLDER.value),
            (CodeKind.REPRESENTATIVE.value, CodeKind.REPRESENTATIVE.value),
        ],
        error_messages=_required(_("Choose which kind of certification you add.")),
    )


class RedeemForm(forms.Form):
    code = forms.CharField(
        max_length=60, error_messages=_required(_("Enter the access code from the letter."))
    )
    security_code = forms.CharField(
        strip=False,
        max_length=100,
        error_messages=_required(_("Enter the security code chosen in the request.")),
    )


class RevocationForm(forms.Form):
    code = forms.CharField(
        max_length=60, error_messages=_required(_("Enter the revocation code from the letter."))
    )
