from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "mandat.catalog"
    label = "catalog"
