from django.urls import path

from mandat.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("spaces/<int:space_id>/", views.space_detail, name="space"),
    path(
        "spaces/<int:space_id>/notices/<int:notice_id>/read/",
        views.notice_read,
        name="notice_read",
    ),
    path(
        "spaces/<int:space_id>/e-box/<int:delivery_id>/letter.pdf",
        views.ebox_letter,
        name="ebox_letter",
    ),
    path(
        "spaces/<int:space_id>/employers/<int:employer_id>/domains/<str:domain_code>/",
        views.domain,
        name="domain",
    ),
]
