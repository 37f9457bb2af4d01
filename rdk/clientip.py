"""The client's IP address, decided in one place.

Behind no proxy the socket address (`REMOTE_ADDR`) is the client. Behind N
proxies (`TRUSTED_PROXY_COUNT`), each proxy appends the address it received
the request from to `X-Forwarded-For`, so the client is the entry N hops from
the right; everything further left was written by the client and can be
forged. A header that is missing, too short or malformed falls back to the
socket address, never to a value the client chose.

Rate limits, the audit log and anything else that records an address call
`client_ip(request)`; django-ratelimit is pointed at it through
`RATELIMIT_IP_META_KEY`.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# A placeholder address, never bound.
UNKNOWN = "0.0.0.0"  # noqa: S104  # nosec B104


def _normalised(candidate: str) -> str | None:
    """A bare address; `ip:port` and `[v6]:port` (as some proxies write them)
    lose the port, and an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) becomes
    the IPv4 address it maps, so one client has one key whatever the form."""
    text = candidate.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def client_ip(request: HttpRequest) -> str:
    socket_address = _normalised(request.META.get("REMOTE_ADDR") or "") or UNKNOWN
    hops = getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0
    if hops <= 0:
        return socket_address
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    entries = [entry.strip() for entry in header.split(",")] if header else []
    if len(entries) < hops:
        return socket_address
    return _normalised(entries[-hops]) or socket_address


def client_ip_for_records(request: HttpRequest) -> str | None:
    """`client_ip` for audit entries and session records: None, not the
    placeholder, when the socket address itself is unusable."""
    address = client_ip(request)
    return None if address == UNKNOWN else address
