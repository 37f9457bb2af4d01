"""The client address of the request being served, for audit entries written
by code that never sees the request (rdk.switches, rdk.cachetags, services)."""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest

_client_ip: ContextVar[str | None] = ContextVar("opsadmin_client_ip", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The socket address, or with TRUSTED_PROXY_COUNT proxies in front, the
    address the outermost trusted proxy saw. Anything malformed gives None."""
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= proxies:
            candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def current_client_ip() -> str | None:
    return _client_ip.get()


def bind_client_ip(ip: str | None):
    return _client_ip.set(ip)


def unbind_client_ip(token) -> None:
    _client_ip.reset(token)
