from django.contrib import admin

from mandat.core.admin_base import ReadOnlyAdmin
from mandat.mandates.models import Mandate


@admin.register(Mandate)
class MandateAdmin(ReadOnlyAdmin):
    list_display = ["employer", "domain", "grantee_space", "kind", "level", "status", "valid_until"]
    list_filter = ["status", "kind", "level", "source"]
    raw_id_fields = ["employer", "grantee_space"]
