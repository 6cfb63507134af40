from django.urls import path

from mandat.backoffice import views

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
]
