from django.urls import path

from mandat.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("spaces/<int:space_id>/", views.space_detail, name="space"),
]
