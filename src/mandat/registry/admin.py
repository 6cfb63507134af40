from django.contrib import admin

from mandat.core.admin_base import ReadOnlyAdmin
from mandat.registry.models import Employer, Organisation, Representative


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ["name", "identifier_scheme", "identifier"]
    search_fields = ["name", "identifier"]


@admin.register(Employer)
class EmployerAdmin(ReadOnlyAdmin):
    list_display = ["name", "employer_number", "institution", "city"]
    search_fields = ["name", "employer_number"]


@admin.register(Representative)
class RepresentativeAdmin(ReadOnlyAdmin):
    list_display = ["denomination", "registration_number", "city"]
    search_fields = ["denomination", "registration_number"]
