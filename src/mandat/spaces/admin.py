from django.contrib import admin

from mandat.core.admin_base import ReadOnlyAdmin
from mandat.spaces.models import Membership, Space


@admin.register(Space)
class SpaceAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "organisation", "closed_at"]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "space", "role", "removed_at"]
