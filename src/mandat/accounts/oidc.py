"""The national eID: allauth's OpenID Connect provider, made strict.

allauth's provider sends neither a ``nonce`` nor, when it fetched the token itself, checks the
ID token's signature. This one sends a fresh nonce with each login (kept in the login's
stashed state and compared in ``SocialAccountAdapter.pre_social_login``), always checks the
signature against the provider's published keys, takes the issuer from mandat's settings
rather than from the provider's discovery document, and asks for the configured ACR values
only, never ones a link adds.
"""

from __future__ import annotations

import secrets
from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404, HttpRequest, HttpResponse

NONCE_BYTES = 32
#: Signature algorithms accepted on ID tokens (never "none", never HMAC with a public key).
ALGORITHMS = ["RS256", "PS256", "ES256"]


class NationalIdProvider(OpenIDConnectProvider):
    #: Where allauth finds the provider's URLs: the stock ones (the callback among them is
    #: answered by ``callback`` below, mounted first on the same path).
    package = "allauth.socialaccount.providers.openid_connect"

    def get_auth_params_from_request(self, request: HttpRequest, action: Any) -> dict[str, Any]:
        """Only the configured parameters (``acr_values``): a link cannot lower them."""
        return dict(self.get_auth_params())

    def redirect(
        self,
        request: HttpRequest,
        process: Any,
        next_url: str | None = None,
        data: Any = None,
        **kwargs: Any,
    ) -> HttpResponse:
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        auth_params = dict(kwargs.pop("auth_params", None) or self.get_auth_params())
        auth_params["nonce"] = nonce
        response: HttpResponse = super().redirect(
            request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )
        return response


class NationalIdAdapter(OpenIDConnectOAuth2Adapter):
    def _decode_id_token(self, app: Any, id_token: str) -> dict[str, Any]:
        """Verify the ID token: signature, issuer (mandat's setting), audience, expiry.

        A token without ``kid`` (allowed by the specification when the provider has one
        key) is tried against each signing key the provider publishes.
        """
        import jwt

        try:
            header = jwt.get_unverified_header(id_token)
            algorithm = header.get("alg")
            if algorithm not in ALGORITHMS:
                raise OAuth2Error(f"ID token algorithm {algorithm!r} refused")
            kid = header.get("kid")
            with get_adapter().get_requests_session() as session:
                response = session.get(self.openid_config["jwks_uri"])
                response.raise_for_status()
                published = response.json().get("keys", [])
            candidates = [
                key
                for key in published
                if key.get("use", "sig") == "sig" and (kid is None or key.get("kid") == kid)
            ]
            for candidate in candidates:
                key = jwt.PyJWK.from_dict(candidate, algorithm=algorithm)
                try:
                    data: dict[str, Any] = jwt.decode(
                        id_token,
                        key=key.key,
                        algorithms=[algorithm],
                        issuer=app.settings["server_url"].rstrip("/"),
                        audience=app.client_id,
                        options={"require": ["iss", "aud", "exp", "iat", "sub"]},
                    )
                except jwt.InvalidSignatureError:
                    continue
                jwtkit.verify_jti(data)
                return data
        except (jwt.PyJWTError, ValueError, KeyError) as error:
            raise OAuth2Error("Invalid id_token") from error
        raise OAuth2Error("Invalid id_token: no published key verifies it")


def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    """allauth's callback, with the strict adapter (mounted on allauth's own path)."""
    from allauth.socialaccount.models import SocialApp

    try:
        view = OAuth2CallbackView.adapter_view(NationalIdAdapter(request, provider_id))
        response: HttpResponse = view(request)
    except SocialApp.DoesNotExist as missing:
        raise Http404 from missing
    return response
