from django.urls import path

from mandat.api import views

app_name = "api"
urlpatterns = [
    path("spaces/<int:space_id>/api-clients/", views.clients, name="clients"),
    path("spaces/<int:space_id>/api-clients/register/", views.register, name="client_register"),
    path("spaces/<int:space_id>/api-clients/register/check/", views.check, name="client_check"),
    path(
        "spaces/<int:space_id>/api-clients/<int:client_pk>/",
        views.registered,
        name="client_registered",
    ),
    path(
        "spaces/<int:space_id>/api-clients/<int:client_pk>/revoke/",
        views.revoke,
        name="client_revoke",
    ),
]
