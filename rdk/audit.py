"""A hook for the audit log that `rdk` and the apps can call without importing
`opsadmin` (imports point one way; see DESIGN.md). `opsadmin` connects the
receiver that stores each entry."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

from rdk.requestid import get_request_id

logger = logging.getLogger(__name__)

ops_action = Signal()


def audit_record(
    *,
    action: str,
    actor: str,
    target: str = "",
    outcome: str = "ok",
    ip: str = "",
    **details: Any,
) -> None:
    """Record an ops action: who did what to which target, with what outcome."""
    request_id = get_request_id()
    logger.info(
        "audit",
        extra={"action": action, "actor": actor, "target": target, "outcome": outcome},
    )
    ops_action.send(
        sender=None,
        action=action,
        actor=actor,
        target=target,
        outcome=outcome,
        ip=ip,
        request_id=request_id,
        details=details,
    )


def audit_changes(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what changed, as JSON-ready values: ({field: old}, {field: new})."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
