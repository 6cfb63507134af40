from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "mandat.registry"
    label = "registry"
