from django.urls import path

from mandat.backoffice import audit_views, registry_views, views

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
    path("requests/", views.request_queue, name="requests"),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path("requests/<int:request_id>/signed.pdf", views.request_pdf, name="request-pdf"),
    path("requests/<int:request_id>/issue/", views.request_issue, name="request-issue"),
    path("requests/<int:request_id>/reject/", views.request_reject, name="request-reject"),
    path("letters/", views.dispatch, name="letters"),
    path("letters/<int:letter_id>/reprint/", views.letter_reprint, name="letter-reprint"),
    path("letters/batches/", views.batch_create, name="batch-create"),
    path("letters/batches/<int:batch_id>/letters.pdf", views.batch_pdf, name="batch-pdf"),
    path(
        "letters/batches/<int:batch_id>/manifest.csv", views.batch_manifest, name="batch-manifest"
    ),
    path("letters/batches/<int:batch_id>/posted/", views.batch_dispatch, name="batch-dispatch"),
    path("registry/", registry_views.search, name="registry"),
    path("registry/employers/new/", registry_views.employer_create, name="employer-create"),
    path("registry/employers/<int:employer_id>/", registry_views.employer_detail, name="employer"),
    path(
        "registry/employers/<int:employer_id>/edit/",
        registry_views.employer_edit,
        name="employer-edit",
    ),
    path(
        "registry/employers/<int:employer_id>/audit/",
        audit_views.employer_audit,
        name="employer-audit",
    ),
    path(
        "registry/employers/<int:employer_id>/audit/verify/",
        audit_views.audit_verify,
        name="employer-audit-verify",
    ),
    path(
        "registry/employers/<int:employer_id>/audit/export.json",
        audit_views.employer_audit_export,
        name="employer-audit-export",
    ),
    path(
        "registry/representatives/new/",
        registry_views.representative_create,
        name="representative-create",
    ),
    path(
        "registry/representatives/<int:representative_id>/",
        registry_views.representative_detail,
        name="representative",
    ),
    path(
        "registry/representatives/<int:representative_id>/edit/",
        registry_views.representative_edit,
        name="representative-edit",
    ),
]
