from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "mandat.backoffice"
    label = "backoffice"
