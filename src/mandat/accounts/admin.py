from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from mandat.accounts.models import User


@admin.register(User)
class MandatUserAdmin(UserAdmin):  # type: ignore[type-arg]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (None, {"fields": ("is_agent", "language", "national_id")}),
    )
    search_fields = ("username", "first_name", "last_name", "email", "national_id")
