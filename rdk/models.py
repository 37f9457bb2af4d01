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
