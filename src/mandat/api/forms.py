"""The portal's form to register an API client."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mandat.api import services, tokens
from mandat.catalog.models import Domain, Level
from mandat.core.errors import ApplicationError

KEY, SECRET = "private_key_jwt", "client_secret"


def scope_choices() -> list[tuple[str, str]]:
    return [
        (f"{domain.code}:{level.value}", f"{domain.name} – {level.label}")
        for domain in Domain.objects.select_related("institution")
        for level in Level
    ]


class ApiClientForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        error_messages={
            "required": _("Enter a name for the client."),
            "max_length": _("The name must be 100 characters or fewer."),
        },
    )
    scopes = forms.MultipleChoiceField(
        error_messages={
            "required": _("Choose at least one domain and action."),
            "invalid_choice": _("Choose domains and actions from the list."),
        }
    )
    expires_on = forms.DateField(
        error_messages={
            "required": _("Enter the expiry date."),
            "invalid": _("Enter the expiry date as a real date, like 2027-03-31."),
        }
    )
    method = forms.ChoiceField(
        choices=[(KEY, KEY), (SECRET, SECRET)],
        error_messages={
            "required": _("Choose how the software proves who it is."),
            "invalid_choice": _("Choose how the software proves who it is."),
        },
    )
    public_jwk = forms.CharField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = scope_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """Check the key and the date here too, so that a mistake shows on this page rather
        than after "check your answers"; the service checks them again when it registers."""
        data = super().clean() or {}
        if data.get("method") == KEY:
            text = (data.get("public_jwk") or "").strip()
            if not text:
                self.add_error("public_jwk", _("Paste the public key of the software."))
            else:
                try:
                    data["jwk"] = tokens.public_jwk_from_text(text)
                except ApplicationError as error:
                    self.add_error("public_jwk", str(error))
        day = data.get("expires_on")
        if day is not None:
            today = timezone.localdate()
            if day <= today:
                self.add_error("expires_on", _("The expiry date must be in the future."))
            elif day > today + services.MAX_VALIDITY - dt.timedelta(days=1):
                self.add_error("expires_on", _("A client may be registered for two years at most."))
        return data

    def expires_at(self) -> dt.datetime:
        """The end of the chosen day, in the platform's time zone."""
        day: dt.date = self.cleaned_data["expires_on"]
        return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))

    def scope_pairs(self) -> list[tuple[str, str]]:
        return [tuple(item.split(":", 1)) for item in self.cleaned_data["scopes"]]
