"""Background tasks of the payments app (django.tasks; see rdk/jobs.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from payments import services
from payments.exceptions import StripeUnavailable
from rdk.jobs import retry_on, scheduled

logger = logging.getLogger(__name__)

# Each hourly run looks back over a day, so a run that was missed or failed is
# covered by the next ones.
RECONCILE_WINDOW = timedelta(hours=24)


@scheduled("5 * * * *", every=timedelta(hours=1))
@task
@retry_on(StripeUnavailable, attempts=4)
def stripe_reconcile() -> dict:
    """Compare Stripe's paid Checkout Sessions with the payments RDK recorded
    (the `manage.py stripe_reconcile` report). Reports only, unless
    STRIPE_RECONCILE_APPLY is on: then it records the missing ones through the
    webhook's own function."""
    since = timezone.now() - RECONCILE_WINDOW
    rows = services.reconcile_list(since=since)
    missing = [row.session_id for row in rows if row.recorded is False]
    report = {"not_recorded": len(missing), "applied": 0, "apply_failed": 0}
    if missing and settings.STRIPE_RECONCILE_APPLY:
        applied = services.reconcile_apply(since=since)
        report["applied"] = sum(1 for result in applied if result.recorded)
        report["apply_failed"] = len(applied) - report["applied"]
    if missing:
        logger.warning("stripe_reconcile.not_recorded", extra={**report, "sessions": missing[:20]})
    return report
