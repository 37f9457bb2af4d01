"""Session epochs (sign-out everywhere) and session activity (who is signed in
where). Both sit right after Django's AuthenticationMiddleware."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from opsadmin.context import bind_client_ip, current_client_ip, unbind_client_ip
from opsadmin.services.sessions import activity_touch, session_is_current
from rdk.clientip import client_ip_for_records
from rdk.visitors import has_session

logger = logging.getLogger(__name__)


def _session_is_current(request: HttpRequest, user) -> bool:
    try:
        return session_is_current(request, user)
    except Exception:  # cache outage: keep the session (fail open); /readyz reports the cache
        logger.warning("sessions.epoch_unavailable")
        return True


class SessionEpochMiddleware:
    """Signs out a session whose user, staff or global epoch was rotated."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ip = client_ip_for_records(request)
        token = bind_client_ip(ip)
        try:
            if has_session(request):
                user = request.user
                if user.is_authenticated and not _session_is_current(request, user):
                    logout(request)
            return self.get_response(request)
        finally:
            unbind_client_ip(token)


class SessionActivityMiddleware:
    """Records last seen, IP and user agent, at most once a minute per session.
    Runs after SessionEpochMiddleware, which bound the request's address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_session(request) and request.user.is_authenticated:
            activity_touch(request, user=request.user, ip=current_client_ip())
        return self.get_response(request)
