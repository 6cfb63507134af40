from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mandat.accounts"
    label = "accounts"
