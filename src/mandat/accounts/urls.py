from django.urls import path

from mandat.accounts import oidc, views

app_name = "accounts"

urlpatterns = [
    path("security/", views.security, name="security"),
    path("step-up/", views.step_up, name="step_up"),
    path("logout-everywhere/", views.logout_everywhere, name="logout_everywhere"),
    # allauth's own path for the eID's callback, answered by the strict adapter.
    path("oidc/<str:provider_id>/login/callback/", oidc.callback, name="oidc_callback"),
]
