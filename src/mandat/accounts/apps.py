from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mandat.accounts"
    label = "accounts"

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_used
        from django.contrib.auth.signals import user_logged_in

        from mandat.accounts import receivers

        user_logged_in.connect(receivers.on_logged_in, dispatch_uid="mandat.accounts.login")
        authenticator_used.connect(
            receivers.on_authenticator_used, dispatch_uid="mandat.accounts.step_up"
        )
