"""The client address of the request being served, for audit entries written
by code that never sees the request (rdk.switches, rdk.cachetags, services).
The address itself is decided by `rdk.clientip`."""

from __future__ import annotations

from contextvars import ContextVar

_client_ip: ContextVar[str | None] = ContextVar("opsadmin_client_ip", default=None)


def current_client_ip() -> str | None:
    return _client_ip.get()


def bind_client_ip(ip: str | None):
    return _client_ip.set(ip)


def unbind_client_ip(token) -> None:
    _client_ip.reset(token)
