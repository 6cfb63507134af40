from django.apps import AppConfig


class MandatesConfig(AppConfig):
    name = "mandat.mandates"
    label = "mandates"
