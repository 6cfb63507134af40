from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mandat.api"
    label = "api"
