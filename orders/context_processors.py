from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from rdk.rls import rls_scope
from rdk.visitors import has_session


def cart(request: HttpRequest) -> dict[str, object]:
    """The header's cart count. A request without a session cookie has no cart:
    answering 0 without touching the session keeps such pages cacheable whole."""
    if not has_session(request):
        return {"cart_count": 0, "has_session": False}

    def count() -> int:
        from orders.services.cart import DbCartStore, cart_store_for

        store = cart_store_for(request)
        if not isinstance(store, DbCartStore):
            return store.count()
        cached = store.cached_count()
        if cached is not None:
            return cached
        if getattr(request, "rls_scoped", False):
            number = store.count()
        else:  # a view outside the request's scoped transaction (a cached catalog page)
            with rls_scope(user=request.user):
                number = store.count()
        store.remember_count(number)
        return number

    return {"cart_count": SimpleLazyObject(count), "has_session": True}
