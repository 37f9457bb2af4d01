import uuid

from django.db import models
from django.utils import timezone


class Switch(models.Model):
    """A runtime switch (feature flag, maintenance area, cache bypass).

    Rows exist only for switches that were ever changed; the rest take their
    declared default (`rdk.switches.SWITCHES`)."""

    name = models.CharField(max_length=64, primary_key=True)
    is_on = models.BooleanField()
    reason = models.CharField(max_length=500, blank=True)
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}={'on' if self.is_on else 'off'}"


class OutboundEmail(models.Model):
    """One email RDK sends, recorded once per cause (`rdk.emails`).

    `key` names the cause (an order event and the email kind, an account event):
    a second request for the same key finds this row and sends nothing.
    `reference` ties the email to what it is about ("order:<public id>"), so
    the order page can list what was sent."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        SENT = "sent", "sent"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=64)
    to = models.EmailField()
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    # What the bodies are rendered from when the email is sent (rdk.emails);
    # emptied once they are.
    context = models.JSONField(default=dict, blank=True, db_default={})
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"


class FunnelStep(models.TextChoices):
    """The checkout funnel, in order (RUNBOOK §8 "checkout drop")."""

    PRODUCT_VIEW = "product_view", "Product viewed"
    CART_ADD = "cart_add", "Added to cart"
    CHECKOUT_START = "checkout_start", "Checkout started"
    STRIPE_HANDOVER = "stripe_handover", "Handed to Stripe"
    PAID = "paid", "Paid"
    ABANDONED = "abandoned", "Abandoned or expired"


class FunnelCount(models.Model):
    """How many times one funnel step happened in one hour (UTC, on the hour).

    Written only by `rdk.funnel`'s upsert, which adds to `count` in one
    statement; never read-modify-written."""

    hour = models.DateTimeField()
    step = models.CharField(max_length=20, choices=FunnelStep.choices)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "step"]
        constraints = [
            models.UniqueConstraint(fields=["hour", "step"], name="rdk_funnelcount_hour_step")
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.step} {self.count}"
