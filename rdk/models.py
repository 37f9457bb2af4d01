from django.db import models


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
