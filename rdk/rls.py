"""The database row-security context: who the current transaction acts for.

PostgreSQL row-level security policies on shopper data (orders/migrations)
read two transaction-local settings:

    rdk.scope    'user' | 'service' | ''  ('' or unset: no scope, fail closed)
    rdk.user_id  the shopper's user id under the 'user' scope

They are always set with `set_config(name, value, true)`, i.e. for the current
transaction only, never with a session-level SET: a connection kept open by
CONN_MAX_AGE, or handed to another client by a transaction-mode pooler, starts
its next transaction with no scope. Outside a transaction (autocommit) a scope
would last one statement, so every helper here opens one (`transaction.atomic`).

On exit a scope nested in a longer transaction restores the values it found,
so nested scopes and Django's test transactions (one outer transaction around a
whole test) do not carry a scope past the block that asked for it; a scope that
opened the transaction needs no restoring, its commit or rollback ends it.

- `rls_scope(user=...)`: a shopper (anonymous or None: no scope).
- `rls_service_scope()`: everything; only code that asks for it gets it
  (admin, webhooks, management commands, cross-shopper maintenance).
- `RowSecurityMiddleware`: one transaction per request that carries a session,
  scoped to the signed-in shopper (`request.rls_scoped` says so); the admin
  runs under the service scope for active staff whose session passed the
  second factor (OTP), never before. Requests with no session cookie open no
  transaction and have no scope: they cannot read shopper data at all. Views
  marked `rls_request_exempt` (cached catalog pages among them) run outside it
  and scope what they read themselves.

On SQLite these are no-ops; the selectors' ownership filters still apply.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from rdk.lrucache import forget_when_changed
from rdk.visitors import has_session

logger = logging.getLogger(__name__)

SCOPE_USER = "user"
SCOPE_SERVICE = "service"
SCOPE_NONE = ""


def _enabled(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def _swap(scope: str, user_id: str, using: str) -> tuple[str, str]:
    """Set the scope for the current transaction; return the previous one."""
    with connections[using].cursor() as cursor:
        # Target-list expressions are evaluated left to right, so the current
        # values are read before set_config replaces them: one round trip.
        cursor.execute(
            "SELECT coalesce(current_setting('rdk.scope', true), ''),"
            " coalesce(current_setting('rdk.user_id', true), ''),"
            " set_config('rdk.scope', %s, true), set_config('rdk.user_id', %s, true)",
            [scope, user_id],
        )
        previous_scope, previous_user, _, _ = cursor.fetchone()
    return previous_scope, previous_user


@contextmanager
def _scoped(scope: str, user_id: str, using: str) -> Iterator[None]:
    if not _enabled(using):
        yield
        return
    connection = connections[using]
    # A block that opens the transaction ends it, and the settings with it: only
    # a block nested in a longer transaction has a scope to restore.
    outermost = not connection.in_atomic_block and connection.get_autocommit()
    with transaction.atomic(using=using):
        previous = _swap(scope, user_id, using)
        yield
        # Reached only without an exception, and skipped when the block was
        # marked for rollback: rolling back this block (transaction or
        # savepoint) restores the settings by itself.
        if not outermost and not connection.needs_rollback:
            _swap(*previous, using)


def _user_scope(user: AbstractBaseUser | AnonymousUser | None) -> tuple[str, str]:
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return SCOPE_NONE, ""
    return SCOPE_USER, str(user.pk)


@contextmanager
def rls_scope(
    *, user: AbstractBaseUser | AnonymousUser | None, using: str = "default"
) -> Iterator[None]:
    """Run the block in a transaction that sees only `user`'s rows (nothing for
    anonymous or None)."""
    with _scoped(*_user_scope(user), using):
        yield


@contextmanager
def rls_service_scope(*, using: str = "default") -> Iterator[None]:
    """Run the block in a transaction that sees every shopper's rows. Ask for it
    only where code acts for the shop rather than for one shopper."""
    with _scoped(SCOPE_SERVICE, "", using):
        yield


def rls_current(*, using: str = "default") -> tuple[str, str]:
    """The (scope, user id) the current transaction runs under; for checks and tests."""
    if not _enabled(using):
        return SCOPE_NONE, ""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting('rdk.scope', true), ''),"
            " coalesce(current_setting('rdk.user_id', true), '')"
        )
        return tuple(cursor.fetchone())


# One catalog query: is the role this connection acts as exempt from row security?
ROLE_BYPASS_SQL = (
    "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)


def role_bypass_problem(row: tuple[str, bool, bool] | None) -> str | None:
    """From ROLE_BYPASS_SQL's row: why row security would not bind this role, or None."""
    if row is None:
        return None
    name, is_super, bypasses = row
    if is_super:
        return f"the database role {name} is a superuser: row security does not bind it"
    if bypasses:
        return f"the database role {name} has BYPASSRLS: row security does not bind it"
    return None


def rls_role_problem(*, using: str = "default") -> str | None:
    """Why row security is off for the connected role (superuser, BYPASSRLS), or None."""
    if not _enabled(using):
        return None
    with connections[using].cursor() as cursor:
        cursor.execute(ROLE_BYPASS_SQL)
        return role_bypass_problem(cursor.fetchone())


def rls_request_exempt[V: Callable[..., Any]](view: V) -> V:
    """Mark a view that opens its own scoped transactions (`rls_scope`) instead
    of running inside the request's (checkout, so that no row lock is held
    while the shopper is handed over to Stripe), or that reads no protected
    data at all (the health endpoints)."""
    view.rls_request_exempt = True  # type: ignore[attr-defined]  # a mark on the function
    return view


def _exempt(request: HttpRequest) -> bool:
    return _exempt_path(request.path_info, getattr(request, "urlconf", None))


@functools.lru_cache(maxsize=2048)
def _exempt_path(path_info: str, urlconf: str | None) -> bool:
    """Whether the view at `path_info` is exempt. Remembered per path (a
    bounded LRU; `ROOT_URLCONF` changes clear it): resolving the URL here, on
    top of the handler's own resolve, was about 6 % of a signed-in page's CPU."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return False
    return bool(getattr(match.func, "rls_request_exempt", False))


forget_when_changed("ROOT_URLCONF", _exempt_path)


class RowSecurityMiddleware:
    """Scope each request that carries a session to its signed-in shopper.

    Sits after AuthenticationMiddleware. Requests without a session cookie are
    passed through untouched (no transaction, no query, no scope), which keeps
    anonymous catalog pages cacheable and cheap. The admin namespace runs under
    the service scope, for active staff whose session is OTP-verified only
    (the admin site itself refuses everyone else)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _enabled("default") or not has_session(request) or _exempt(request):
            return self.get_response(request)
        with rls_scope(user=request.user):
            request.rls_scoped = True  # type: ignore[attr-defined]  # RDK's mark on the request
            response = self.get_response(request)
            if response.status_code >= 500:
                # Django turns a view's exception into a 500 response before it
                # reaches here; whatever the failed request wrote is undone.
                transaction.set_rollback(True)
            return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        match = request.resolver_match
        if (
            match is not None
            and match.app_name == "admin"
            and _enabled("default")
            and connections["default"].in_atomic_block
        ):
            user = request.user
            is_verified = getattr(user, "is_verified", None)
            if user.is_active and user.is_staff and is_verified is not None and is_verified():
                _swap(SCOPE_SERVICE, "", "default")
        return None
