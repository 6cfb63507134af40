"""mandat's hooks into allauth: the level of assurance a login earns, and the eID's checks."""

from __future__ import annotations

import base64
import hmac
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.models import SocialLogin
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from mandat.accounts import assurance
from mandat.documents import vault


def _second_factor_pages() -> set[str]:
    """allauth's pages that confirm a second factor during a session (the step-up pages)."""
    return {reverse("mfa_reauthenticate"), reverse("mfa_reauthenticate_webauthn")}


class AccountAdapter(DefaultAccountAdapter):
    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        """On the pages that confirm a second factor, offer only other second factors: the
        password would not raise the level of assurance, and step-up would ask again."""
        methods: list[dict[str, Any]] = super().get_reauthentication_methods(user)
        request = self.request or context.request
        if request is not None and request.path in _second_factor_pages():
            methods = [method for method in methods if method.get("id") != "reauthenticate"]
        return methods

    def post_login(
        self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any
    ) -> HttpResponse:
        """Give the fresh session the level its login earned (see ``assurance``)."""
        acr = request.session.pop(assurance.OIDC_ACR_SESSION_KEY, None)
        level = assurance.level_from_login(
            records=get_authentication_records(request, user), acr=acr
        )
        assurance.set_level(request, level)
        response: HttpResponse = super().post_login(request, user, **kwargs)
        return response


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Refuse an eID login whose ID token does not answer this very login request.

        allauth checked the token's signature, issuer, audience and expiry; the ``nonce``
        it carries must be the one this login sent (a token replayed from another login
        carries another). The verified ``acr`` is kept for ``AccountAdapter.post_login``.
        """
        id_token = (sociallogin.account.extra_data or {}).get("id_token") or {}
        expected = (getattr(sociallogin, "state", None) or {}).get("nonce")
        received = id_token.get("nonce")
        if (
            not isinstance(expected, str)
            or not isinstance(received, str)
            or not hmac.compare_digest(expected, received)
        ):
            provider = sociallogin.account.get_provider()
            raise ImmediateHttpResponse(
                render_authentication_error(request, provider, error="nonce")
            )
        acr = id_token.get("acr")
        if isinstance(acr, str):
            request.session[assurance.OIDC_ACR_SESSION_KEY] = acr
        else:
            request.session.pop(assurance.OIDC_ACR_SESSION_KEY, None)


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are sealed at rest, as letters with codes are.

    allauth keeps them in clear in ``Authenticator.data`` unless its adapter encrypts them; with
    them, anyone reading the database could produce a person's second factor. They are sealed
    under ``MANDAT_DOCUMENT_KEY`` (AES-256-GCM, ``documents.vault``), a key kept outside it.
    """

    _PREFIX = "sealed:"
    _LABEL = "mfa-secret"

    def encrypt(self, text: str) -> str:
        sealed = vault.seal(text.encode(), label=self._LABEL)
        return self._PREFIX + base64.b64encode(sealed).decode()

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(self._PREFIX):
            raise ValueError("an MFA secret that was not sealed")
        sealed = base64.b64decode(encrypted_text.removeprefix(self._PREFIX))
        return vault.unseal(sealed, label=self._LABEL).decode()
