"""Platform tasks (django.tasks; see rdk/jobs.py)."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.tasks import task

from rdk.jobs import scheduled


@scheduled("30 4 * * *", every=timedelta(days=1))
@task
def clearsessions() -> None:
    """Delete expired sessions: what Django's `manage.py clearsessions` does."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
