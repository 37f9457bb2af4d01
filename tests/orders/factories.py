"""Orders factories. Shopper data is protected by row security, so rows are
written under the scope of the shopper they belong to (as the app does).

UserFactory()                          # a shopper with a profile
UserFactory(staff=True)                # a staff member
order_for(user, variant, quantity=1)   # a pending order with reserved stock, placed by the services
"""

from __future__ import annotations

import functools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, make_password
from django.contrib.auth.models import User

from orders.addresses import ShippingAddress
from orders.models import Order, Profile
from orders.services.cart import DbCartStore, cart_add
from orders.services.checkout import order_place
from rdk.rls import rls_scope
from tests.factories import ModelFactory

PASSWORD = "correct-horse-battery-9"

SHIP_TO = ShippingAddress(
    name="Sam Shopper",
    line1="1 Market St",
    line2="Apt 4",
    city="San Francisco",
    region="CA",
    postal_code="94105",
    country="US",
)
# The checkout address form, filled in as a shopper would.
ADDRESS_FORM = {
    "name": SHIP_TO.name,
    "line1": SHIP_TO.line1,
    "line2": SHIP_TO.line2,
    "city": SHIP_TO.city,
    "region": SHIP_TO.region,
    "postal_code": SHIP_TO.postal_code,
    "country": SHIP_TO.country,
    "phone": "",
}


def _hashed_password() -> str:
    return _hashed_with(get_hasher().algorithm)


@functools.cache
def _hashed_with(algorithm: str) -> str:
    # Per hasher: tests that switch PASSWORD_HASHERS (tests/opsadmin uses MD5)
    # must not leave a hash the next test's hashers cannot check.
    return make_password(PASSWORD, hasher=algorithm)


class UserFactory(ModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    username = factory.SelfAttribute("email")
    # Hashed once per run: the real hasher is slow by design.
    password = factory.LazyFunction(lambda: _hashed_password())

    class Params:
        staff = factory.Trait(is_staff=True, is_superuser=True)

    @factory.post_generation
    def with_profile(user: User, create, extracted, **kwargs):
        if not create:
            return
        user.save()
        with rls_scope(user=user):
            Profile.objects.get_or_create(user=user, defaults={"full_name": "Sam Shopper"})


def order_for(user, variant, quantity: int = 1) -> Order:
    """Place a real order for `user` through the cart and checkout services."""
    with rls_scope(user=user):
        store = DbCartStore(user)
        cart_add(store=store, variant_id=variant.pk, quantity=quantity)
        return order_place(user=user, store=store, ship_to=SHIP_TO)
