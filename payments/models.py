"""The webhook inbox: every verified Stripe event, stored before it is processed,
and every replay of one."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class StripeEvent(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored (no handler)"
        # A failed event staff closed by hand (one that will never succeed),
        # with the reason: it no longer holds /jobs/health at 503.
        HANDLED = "handled", "Marked handled by staff"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    api_version = models.CharField(max_length=64, blank=True)
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    stripe_created = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivery_count = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    request_ids = models.JSONField(default=list, blank=True)
    handled_by = models.CharField(max_length=150, blank=True)
    handled_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        # The payload holds shoppers' names, emails and addresses.
        permissions = [("view_event_payload", "Can read raw Stripe event payloads")]
        indexes = [models.Index(fields=["status", "received_at"], name="stripeevent_status_recv")]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.status})"


class StripeEventReplay(models.Model):
    class Outcome(models.TextChoices):
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored (no handler)"
        ALREADY_PROCESSED = "already_processed", "Already processed: nothing done"

    event = models.ForeignKey(StripeEvent, on_delete=models.CASCADE, related_name="replays")
    actor = models.CharField(max_length=150)
    replayed_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome)
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-replayed_at", "-id"]

    def __str__(self) -> str:
        return f"replay of {self.event.stripe_id} by {self.actor}: {self.outcome}"
