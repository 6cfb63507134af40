from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One link of the append-only, hash-chained audit trail.

    ``content_digest`` is SHA-256 over the canonical form of the event and
    ``hash`` is SHA-256 over ``prev_hash || content_digest``, so a chain can be
    proven to a third party without showing other parties' events.
    Rows are written by ``mandat.core.audit`` only; database triggers refuse
    UPDATE and DELETE.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    employer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    #: The n-th event of this employer (1, 2, 3...): an export with a gap is incomplete.
    employer_seq = models.PositiveIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    content_digest = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["employer_id", "employer_seq"], name="audit_employer_seq_unique"
            ),
        ]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("the audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the audit trail is append-only")


class AuditHead(models.Model):
    """The single row that holds the end of the chain; appenders lock it to serialise."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audithead_single")]

    def __str__(self) -> str:
        return f"head #{self.seq}"


class FailureThrottle(models.Model):
    """Recent failures of one guesser (an account, an API client, an address) in one scope.

    Kept in a table rather than in a process's memory, so that every process of the
    deployment sees the same count and waits. Written by ``mandat.core.throttle`` only.
    """

    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=200)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(db_index=True)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="failurethrottle_unique_key")
        ]
        verbose_name = _("failure throttle")
        verbose_name_plural = _("failure throttles")

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures}"
