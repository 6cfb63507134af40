from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "mandat.portal"
    label = "portal"
