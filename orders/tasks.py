"""Background tasks of the orders app (django.tasks; see rdk/jobs.py)."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from orders.services.reservations import reservations_release_expired
from rdk.jobs import scheduled


@scheduled("* * * * *", every=timedelta(minutes=1))
@task
def release_expired_reservations() -> int:
    """Put the pairs of expired, unpaid checkouts back on sale; returns the
    number of orders released (`manage.py release_expired_reservations` too)."""
    return reservations_release_expired()
