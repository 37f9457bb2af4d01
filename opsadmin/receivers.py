"""Stores every `rdk.audit.ops_action` as an AuditEntry."""

from __future__ import annotations

import ipaddress
import json
import logging

from django.core.serializers.json import DjangoJSONEncoder

from opsadmin.context import current_client_ip
from opsadmin.models import AuditEntry

logger = logging.getLogger(__name__)


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def audit_entry_store(
    sender, *, action, actor, target, outcome, ip, request_id, details, **kwargs
) -> None:
    safe_details = json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder, default=str))
    AuditEntry.objects.create(
        action=str(action)[:64],
        actor=str(actor or "")[:150],
        target=str(target or "")[:255],
        outcome=str(outcome or "")[:32],
        ip=_valid_ip(ip) or current_client_ip(),
        request_id=(request_id or "")[:128],
        details=safe_details,
    )
