from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "mandat.spaces"
    label = "spaces"
