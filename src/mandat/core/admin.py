from django.contrib import admin

from mandat.core.admin_base import ReadOnlyAdmin
from mandat.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "action", "actor_id", "employer_id", "object_type", "object_id"]
    list_filter = ["action"]
    search_fields = ["action", "object_id"]
