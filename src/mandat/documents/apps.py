from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "mandat.documents"
    label = "documents"
