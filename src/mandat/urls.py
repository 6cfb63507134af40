from django.contrib import admin
from django.contrib.auth import views as auth_views
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
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
