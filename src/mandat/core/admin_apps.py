"""The admin app, with mandat's site (``mandat.core.admin_site``): listed in INSTALLED_APPS
instead of ``django.contrib.admin``. Kept apart from the site, which imports models."""

from django.contrib.admin.apps import AdminConfig


class MandatAdminConfig(AdminConfig):
    default_site = "mandat.core.admin_site.MandatAdminSite"
