from allauth.account import views as account_views
from django.contrib import admin
from django.urls import include, path

from mandat.api.api import api

urlpatterns = [
    # First: the API sits on every request of payroll software, and Django tries the
    # patterns in order (the portal's come to dozens).
    path("api/v1/", api.urls),
    path("", include("mandat.portal.urls")),
    path("", include("mandat.certification.urls")),
    path("", include("mandat.api.urls")),
    path("backoffice/", include("mandat.backoffice.urls")),
    path("login/", account_views.login, name="login"),
    path("logout/", account_views.logout, name="logout"),
    path("accounts/", include("mandat.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
