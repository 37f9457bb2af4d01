from __future__ import annotations

from django.core.management.base import CommandError

from opsadmin.exceptions import UserNotFound
from opsadmin.services.otp import user_find

OPERATOR = "manage.py"


def operator(name: str) -> str:
    """The actor recorded for a command: the OS user running it."""
    import getpass

    try:
        return f"{getpass.getuser()} ({name})"
    except Exception:  # no passwd entry in some containers
        return f"{OPERATOR} ({name})"


def user_or_error(login: str):
    try:
        return user_find(login=login)
    except UserNotFound as exc:
        raise CommandError(str(exc)) from None
