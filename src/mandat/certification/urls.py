from django.urls import path

from mandat.certification import code_views, representative_views, views

app_name = "certification"

_REQUEST = "spaces/<int:space_id>/certification/request/"
_CERTIFICATIONS = "spaces/<int:space_id>/certifications/"

urlpatterns = [
    # Procedure B: the certification request
    path(_REQUEST, views.request_start, name="request"),
    path(f"{_REQUEST}consent/", views.request_consent, name="request_consent"),
    path(f"{_REQUEST}filer/", views.request_filer, name="request_filer"),
    path(f"{_REQUEST}employer/", views.request_employer, name="request_employer"),
    path(
        f"{_REQUEST}representative/",
        representative_views.request_representative,
        name="request_representative",
    ),
    path(
        f"{_REQUEST}representative/same/",
        representative_views.request_same,
        name="request_same",
    ),
    path(
        f"{_REQUEST}representative/domains/",
        representative_views.request_domains,
        name="request_domains",
    ),
    path(
        f"{_REQUEST}representative/details/",
        representative_views.request_details_same,
        name="request_details_same",
    ),
    path(
        f"{_REQUEST}representative/details/<str:domain_code>/",
        representative_views.request_details,
        name="request_details",
    ),
    path(f"{_REQUEST}security-code/", views.request_security_code, name="request_security_code"),
    path(f"{_REQUEST}check/", views.request_check, name="request_check"),
    path(f"{_REQUEST}sign/", views.request_sign, name="request_sign"),
    path(f"{_REQUEST}transmit/", views.request_transmit, name="request_transmit"),
    path(f"{_REQUEST}transmit/confirm/", views.request_confirm, name="request_confirm"),
    path(f"{_REQUEST}reopen/", views.request_reopen, name="request_reopen"),
    path(f"{_REQUEST}sent/", views.request_sent, name="request_sent"),
    path(
        f"{_REQUEST}<int:request_id>/signed.pdf",
        views.request_signed_pdf,
        name="request_signed_pdf",
    ),
    # Procedure C: certify a space with an access code
    path(_CERTIFICATIONS, code_views.certifications, name="certifications"),
    path(f"{_CERTIFICATIONS}add/", code_views.certification_add, name="certification_add"),
    path(
        f"{_CERTIFICATIONS}add/kind/",
        code_views.certification_add_kind,
        name="certification_add_kind",
    ),
    path(
        f"{_CERTIFICATIONS}add/code/",
        code_views.certification_add_code,
        name="certification_add_code",
    ),
    path(
        f"{_CERTIFICATIONS}<int:mandate_id>/added/",
        code_views.certification_added,
        name="certification_added",
    ),
    # Revocation with the posted revocation code, without logging in
    path("revoke/", code_views.revoke, name="revoke"),
    path("revoke/confirm/", code_views.revoke_confirm, name="revoke_confirm"),
    path("revoke/done/", code_views.revoke_done, name="revoke_done"),
]
