"""Whether a request comes from a visitor with a session.

A request without a session cookie has nobody signed in and no cart, so
per-visitor work (loading the session, the user, their cart, a row-security
scope, session bookkeeping) is skipped for it. Skipping it is what keeps
such pages free of `Vary: Cookie` and cacheable whole (rdk.pagecache)."""

from django.conf import settings
from django.http import HttpRequest


def has_session(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES
