from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who did what to whose data, and when (C7). Rows are only ever added."""

    class Action(models.TextChoices):
        READ = "read"
        CREATE = "create"
        UPDATE = "update"
        MERGE = "merge"
        UNMERGE = "unmerge"
        IMPORT = "import"
        TOKEN = "token"
        ERASE = "erase"
        EXPORT = "export"  # Art. 15/20: an export made, downloaded or sent
        RETENTION = "retention"  # a retention run removed what outlived its period

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Kept as text so the entry still says who acted after the user is deleted.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=16, choices=Action.choices)
    # A plain integer, not a foreign key: the audit outlives erasure of the customer.
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    via = models.CharField(max_length=16)  # api, web, cli, admin, system
    detail = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type} {self.object_id}"


class ApiToken(models.Model):
    """A bearer token for the API. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Tombstone(models.Model):
    """What is left of an erased person (Art. 17): a keyed hash of each identifier they had.

    ``key_hash`` is HMAC-SHA256, under the server's tombstone key, of the SHA-256 hex that
    ``consent.hashing`` makes of the normalised identifier. Keyed, because a bare SHA-256 of an
    address can be computed by anyone who guesses the address, so a leaked table would say who
    asked to be forgotten; over the SHA-256 rather than the address, because partners ask the
    suppression check (S5) with SHA-256 hashes only: Regard keys their hash and looks it up, and
    never needs the address. A separate table rather than ``Suppression`` rows, whose bare
    hashes partners share: a tombstone does not stop support (the person may still write and
    be answered), only marketing until a consent with fresh proof, and re-creation by import
    or the API.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10)
    # The latest erasure of the identifier: a consent recorded after it lifts the marketing stop.
    erased_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-erased_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key_hash[:12]}… (erased {self.erased_at:%Y-%m-%d})"


class DataExport(models.Model):
    """One archive of everything held about a person (GDPR Art. 15 and 20), built by a task.

    The archive lives in the database like support attachments, so any web process can serve
    it whichever worker built it; retention empties it after ``REGARD_RETENTION_EXPORT_DAYS``.
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        EXPIRED = "expired"  # built, and the archive removed by retention

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    language = models.CharField(max_length=35, blank=True)  # the summary's language
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    archive = models.BinaryField(null=True, blank=True)
    archive_size = models.PositiveIntegerField(default=0)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archive_removed_at = models.DateTimeField(null=True, blank=True)
    # Part name to number of records, as written into the archive's manifest.
    parts = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    link_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "finished_at"], name="export_state_finished")]

    def __str__(self) -> str:
        return f"export {self.pk} of customer {self.customer_id} ({self.state})"
