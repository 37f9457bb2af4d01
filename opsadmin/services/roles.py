"""Staff roles as Django groups of real permissions (opsadmin/permissions.py
defines them). `roles_sync` makes each role's group hold exactly its
permissions; it runs after every `migrate` (so a new permission reaches the
Owner at once) and from `manage.py staff_roles`. Other groups are left alone."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from opsadmin.permissions import OWNER, ROLES

logger = logging.getLogger(__name__)


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = [
        perm
        for perm in Permission.objects.select_related("content_type").filter(
            codename__in=[codename for _app, codename in wanted]
        )
        if (perm.content_type.app_label, perm.codename) in wanted
    ]
    missing = wanted - {(perm.content_type.app_label, perm.codename) for perm in found}
    if missing:
        raise LookupError(
            "Unknown permission(s): " + ", ".join(sorted(".".join(pair) for pair in missing))
        )
    return found


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create or correct the role groups; returns {role: number of permissions}."""
    counts: dict[str, int] = {}
    for role, names in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = list(Permission.objects.all()) if role == OWNER else _permissions(names)
        group.permissions.set(perms)
        counts[role] = len(perms)
    logger.info("staff_roles.synced", extra={"roles": counts})
    return counts


def roles_sync_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    """post_migrate receiver: permissions exist once every app has migrated."""
    if sender.name != "opsadmin":
        return
    try:
        roles_sync()
    except LookupError:
        # A partial migrate (an app not migrated yet): `staff_roles` will finish it.
        logger.warning("staff_roles.skipped", exc_info=True)
