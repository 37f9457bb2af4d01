"""The ops console's own records: the audit log, hashed backup codes, session
epochs and activity, incidents, and database snapshots with their checks."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django_otp.models import Device, ThrottlingMixin, TimestampMixin

# Audit ------------------------------------------------------------------------


class AuditEntry(models.Model):
    """One ops action or admin sign-in attempt. Written only by the receiver of
    `rdk.audit.ops_action`; never changed afterwards."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=32, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        # The ops console's permissions (opsadmin/permissions.py checks them); the
        # audit log is where they are recorded, so they hang off its model.
        permissions = [
            ("view_ops_console", "Can open the ops console's daily checklist"),
            ("view_switches", "Can see switches and maintenance"),
            ("change_switches", "Can flip switches and maintenance"),
            ("view_sessions", "Can see who is signed in where"),
            ("rotate_sessions", "Can sign users out everywhere"),
            ("view_incidents", "Can read incidents"),
            ("change_incidents", "Can open, update and export incidents"),
            ("view_snapshots", "Can see snapshots and their checks"),
            ("take_snapshots", "Can take, verify and restore-check snapshots"),
            ("view_cache", "Can see cache tag versions"),
            ("revalidate_cache", "Can revalidate cache tags"),
            ("view_webhooks", "Can list Stripe webhook events"),
            ("replay_webhooks", "Can replay Stripe webhook events"),
            ("manage_staff_access", "Can issue enrolment links and clear sign-in limits"),
            ("view_jobs", "Can see background jobs"),
            ("run_jobs", "Can retry and run background jobs"),
            ("view_outbox", "Can read sent emails in the outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.outcome}"


# Enrolment links ------------------------------------------------------------------


class EnrolmentLink(models.Model):
    """A one-time, expiring permission to set up an authenticator, issued by an
    Owner (or `manage.py otp_enroll --link`). A password alone never enrols:
    whoever learns a staff password still needs this link. Only the token's
    SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"enrolment link for {self.user} (expires {self.expires_at:%Y-%m-%d %H:%M})"


# Backup codes -------------------------------------------------------------------


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """Ten single-use backup codes, stored as scrypt hashes.

    django-otp's StaticDevice keeps its tokens in plain text; anyone who reads
    the table could sign in as any staff member who also knows the password.
    Here each code is hashed with scrypt under a per-device salt: a sign-in
    attempt costs one scrypt, and a stolen table costs an attacker one scrypt
    per guess of a 50-bit code. Verification lives in `opsadmin.services.otp`."""

    salt = models.CharField(max_length=64)

    class Meta(Device.Meta):
        verbose_name = "backup code set"

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        from opsadmin.services.otp import backup_code_verify

        return backup_code_verify(device=self, code=str(token))


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"backup code {self.pk} ({'used' if self.used_at else 'unused'})"


# Sessions -----------------------------------------------------------------------


class SessionEpoch(models.Model):
    """A counter per scope (`all`, `staff`, `user:<pk>`). A session remembers the
    counters it was signed in under; once any of them moves, the session is
    signed out on its next request, whatever the session backend."""

    scope = models.CharField(max_length=64, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)
    rotated_at = models.DateTimeField(null=True, blank=True)
    rotated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["scope"]

    def __str__(self) -> str:
        return f"{self.scope}={self.value}"


class SessionActivity(models.Model):
    """What a signed-in session was last seen doing. Keyed by a hash of the
    session key: the key itself is a credential and is never stored here."""

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_activity"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name_plural = "session activity"

    def __str__(self) -> str:
        return f"{self.user} seen {self.last_seen:%Y-%m-%d %H:%M}"


# Incidents ------------------------------------------------------------------------


class Severity(models.TextChoices):
    P0 = "P0", "P0 — checkout, login or data exposure"
    P1 = "P1", "P1 — admin or major feature outage"
    P2 = "P2", "P2 — slow or partly failing"
    P3 = "P3", "P3 — minor UI or analytics"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class TriggerSource(models.TextChoices):
    SENTRY = "sentry", "Sentry alert spike"
    LOGS = "logs", "x-request-id log cluster"
    STRIPE = "stripe", "Stripe webhook failures"
    READYZ = "readyz", "/readyz returned non-200"
    RATE_LIMIT = "rate_limit", "Rate limits rejecting legitimate users"
    LOAD_TEST = "load_test", "Load-test regression"
    REPORT = "report", "Customer or staff report"
    OTHER = "other", "Other"


class Incident(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=2, choices=Severity.choices)
    impact = models.TextField()
    trigger_source = models.CharField(max_length=20, choices=TriggerSource.choices)
    status = models.CharField(
        max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING
    )
    request_ids = models.JSONField(default=list, blank=True)
    stripe_event_ids = models.JSONField(default=list, blank=True)
    root_cause = models.TextField(blank=True)
    fix = models.TextField(blank=True)
    follow_ups = models.TextField(blank=True)
    started_at = models.DateTimeField(db_index=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    exported_path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.severity} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("admin:ops_incident_detail", kwargs={"public_id": self.public_id})

    @property
    def is_open(self) -> bool:
        return self.status != IncidentStatus.RESOLVED


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    at = models.DateTimeField(auto_now_add=True)
    status_from = models.CharField(max_length=20, choices=IncidentStatus.choices, blank=True)
    status_to = models.CharField(max_length=20, choices=IncidentStatus.choices)
    note = models.TextField(blank=True)
    author = models.CharField(max_length=150)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} → {self.status_to} at {self.at:%H:%M}"


# Snapshots ----------------------------------------------------------------------


class Snapshot(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(db_index=True)
    file_name = models.CharField(max_length=200)
    engine = models.CharField(max_length=20)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    row_counts = models.JSONField(default=dict)
    duration_ms = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=150)
    # Uploaded files (MEDIA_ROOT) archived beside the dump (RUNBOOK §5.1
    # "storage versioning"); blank on snapshots taken before media was archived.
    # Database defaults: the previous release's code inserts snapshots without them.
    media_file_name = models.CharField(max_length=200, blank=True, db_default="")
    media_size_bytes = models.PositiveBigIntegerField(db_default=0)
    media_sha256 = models.CharField(max_length=64, blank=True, db_default="")
    media_file_count = models.PositiveIntegerField(db_default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name


class SnapshotCheck(models.Model):
    class Kind(models.TextChoices):
        VERIFY = "verify", "Verify"
        RESTORE_CHECK = "restore_check", "Restore check"
        RESTORE = "restore", "Restore into an instance"

    snapshot = models.ForeignKey(
        Snapshot, on_delete=models.SET_NULL, null=True, blank=True, related_name="checks"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ok = models.BooleanField()
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list)
    details = models.JSONField(default=dict)
    actor = models.CharField(max_length=150)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {'ok' if self.ok else 'FAILED'} at {self.started_at:%Y-%m-%d %H:%M}"


# Slow requests ------------------------------------------------------------------------


class SlowRequest(models.Model):
    """A request over RDK_SLOW_REQUEST_MS, or one that ran a query over
    RDK_SLOW_QUERY_MS (rdk/slowlog.py), kept SLOW_REQUEST_KEEP_DAYS."""

    at = models.DateTimeField(db_index=True)
    request_id = models.CharField(max_length=128)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.FloatField()
    slow_queries = models.PositiveIntegerField(default=0)
    slowest_query_ms = models.FloatField(default=0)
    slowest_query = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # The Operations role's page (RUNBOOK §8); see docs/ops-console.md.
        permissions = [("view_slow_queries", "Can see slow queries and slow requests")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.duration_ms:.0f} ms ({self.request_id})"
