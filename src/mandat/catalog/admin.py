from django.contrib import admin

from mandat.catalog.models import Domain, Institution, Service
from mandat.core.admin_base import ReadOnlyAdmin


@admin.register(Institution)
class InstitutionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name_fr", "name_de", "name_en"]


@admin.register(Domain)
class DomainAdmin(ReadOnlyAdmin):
    list_display = ["institution", "code", "name_fr", "name_de", "name_en"]


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ["domain", "code", "level", "name_en"]
