"""What a view may rely on about its request, said to the type checker.

`request.user` is a `User` or an `AnonymousUser`; behind `login_required`, or
once `is_signed_in(request)` said yes, it is a `User`: annotate such views
(and the helpers they call) with `AuthenticatedRequest`."""

from __future__ import annotations

from typing import TypeGuard

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedRequest(HttpRequest):
    """A request from a signed-in visitor. Never instantiated: a type only."""

    user: User


def is_signed_in(request: HttpRequest) -> TypeGuard[AuthenticatedRequest]:
    return request.user.is_authenticated
