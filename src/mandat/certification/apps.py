from django.apps import AppConfig


class CertificationConfig(AppConfig):
    name = "mandat.certification"
    label = "certification"
