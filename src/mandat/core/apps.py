from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mandat.core"
    label = "core"
