"""Stores every `rdk.audit.ops_action` as an AuditEntry, and every
`rdk.slowlog.slow_request` as a SlowRequest."""

from __future__ import annotations

import ipaddress
import json
import logging
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from opsadmin.context import current_client_ip
from opsadmin.models import AuditEntry, SlowRequest
from rdk.requestid import get_request_id

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


SLOW_REQUEST_KEEP_DAYS = 14


def slow_request_store(sender, *, method, path, status, duration_ms, **fields) -> None:
    """Store a `rdk.slowlog.slow_request`, and forget those past the keep period."""
    now = timezone.now()
    SlowRequest.objects.create(
        at=now,
        request_id=(get_request_id() or "")[:128],
        method=str(method)[:10],
        path=str(path)[:500],
        status=status,
        duration_ms=duration_ms,
        slow_queries=fields.get("slow_queries", 0),
        slowest_query_ms=fields.get("slowest_query_ms", 0),
        slowest_query=fields.get("slowest_query", ""),
    )
    SlowRequest.objects.filter(at__lt=now - timedelta(days=SLOW_REQUEST_KEEP_DAYS)).delete()
