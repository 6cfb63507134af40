from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mandat.backoffice.selectors import BACKOFFICE_STATUSES
from mandat.certification.models import RequestStatus

ALL_STATUSES = "all"
OLDEST, NEWEST = "oldest", "newest"


class QueueFilterForm(forms.Form):
    """The queue's filter (GET). An unknown value falls back to the default view."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            *((status.value, status.label) for status in BACKOFFICE_STATUSES),
            (ALL_STATUSES, _("All statuses")),
        ],
    )
    sort = forms.ChoiceField(
        label=_("Order"),
        required=False,
        choices=[(OLDEST, _("Oldest first")), (NEWEST, _("Newest first"))],
    )

    def filters(self) -> tuple[str | None, bool]:
        """The status to show (None for all) and whether the newest come first."""
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status") or RequestStatus.TRANSMITTED.value
        return (None if status == ALL_STATUSES else status), data.get("sort") == NEWEST


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the rejection"),
        help_text=_("The employer reads this reason in its space."),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Give the reason for the rejection.")},
    )
