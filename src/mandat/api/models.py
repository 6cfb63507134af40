"""API clients: software that acts as a space through the API, and what their calls leave behind."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mandat.spaces.models import Space


class AuthMethod(models.TextChoices):
    PRIVATE_KEY_JWT = "private_key_jwt", _("Public key (private_key_jwt)")
    CLIENT_SECRET = "client_secret", _("Client secret (weaker)")  # noqa: S105 - a label


class ApiClient(models.Model):
    """A piece of software allowed to call the API as ``space``, within ``scopes``, until
    ``expires_at``. A revoked client is kept, with ``revoked_at`` set."""

    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="api_clients")
    name = models.CharField(_("name"), max_length=100)
    #: The public identifier the software sends (``client_id``, ``iss`` and ``sub``).
    client_id = models.CharField(_("client id"), max_length=64, unique=True)
    #: ``["AFFILIATIONS:act", "EMPLOYER:consult"]``: domain code and action, sorted, no duplicate.
    scopes = models.JSONField(_("scopes"), default=list)
    auth_method = models.CharField(_("authentication"), max_length=16, choices=AuthMethod.choices)
    #: The client's public key (JWK), for ``private_key_jwt``.
    public_jwk = models.JSONField(_("public key"), null=True, blank=True)
    #: A keyed hash (HMAC-SHA256) of the client secret, for ``client_secret``.
    secret_hash = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["space", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(auth_method="private_key_jwt", public_jwk__isnull=False, secret_hash="")
                    | (Q(auth_method="client_secret", public_jwk__isnull=True) & ~Q(secret_hash=""))
                ),
                name="api_client_credentials_match_method",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_by__isnull=False),
                name="api_client_revocation_names_its_author",
            ),
        ]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def scope_pairs(self) -> list[tuple[str, str]]:
        return [tuple(item.split(":", 1)) for item in self.scopes]


class SeenAssertion(models.Model):
    """A client assertion's ``jti``, kept until the assertion expires (plus twice the clock
    skew and a margin: ``expires_at``), so it is used once."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="assertion_jti_used_once"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="seen_assertion_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.client_id}/{self.jti}"


class RateWindow(models.Model):
    """How many calls a client made in one fixed window, summed over every process."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    #: The window's start, in seconds since the epoch.
    window = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "window"], name="one_rate_window_per_client"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}@{self.window}: {self.hits}"
