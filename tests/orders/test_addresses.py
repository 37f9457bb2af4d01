"""The shipping address: validated before anything is reserved or sent to
Stripe, prefilled from the profile, copied onto the order, shown to the shopper,
in the admin and on the packing slip."""

from __future__ import annotations

import pytest

from catalog.models import Variant
from orders.addresses import address_clean
from orders.exceptions import AddressInvalid
from orders.models import Order, Profile
from rdk.rls import rls_scope, rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import ADDRESS_FORM, SHIP_TO, UserFactory

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "http://testserver"}
BASE = {"name": "Ann Lee", "line1": "1 High St", "city": "Town"}


@pytest.mark.parametrize(
    ("country", "postal", "region", "stored"),
    [
        ("US", "94107", "CA", "94107"),
        ("us", "94107-1234", "NY", "94107-1234"),
        ("CA", "k1a 0b1", "ON", "K1A 0B1"),
        ("GB", "sw1a 1aa", "", "SW1A 1AA"),
        ("GB", "M1 1AE", "", "M1 1AE"),
        ("IE", "D02 X285", "", "D02 X285"),
        ("DE", "10115", "", "10115"),
        ("NL", "1012 ab", "", "1012 AB"),
        ("PT", "1100-148", "", "1100-148"),
        ("PL", "00-001", "", "00-001"),
        ("SE", "111 22", "", "111 22"),
    ],
)
def test_postal_codes_that_fit_their_country(country, postal, region, stored):
    address = address_clean(**BASE, country=country, postal_code=postal, region=region)
    assert (address.country, address.postal_code) == (country.upper(), stored)


@pytest.mark.parametrize(
    ("country", "postal", "field", "message"),
    [
        ("US", "9410", "postal_code", "not a United States postal code; it looks like 94107"),
        ("US", "SW1A 1AA", "postal_code", "not a United States postal code"),
        ("CA", "12345", "postal_code", "not a Canada postal code; it looks like K1A 0B1"),
        ("GB", "12345", "postal_code", "not a United Kingdom postal code"),
        ("DE", "1011", "postal_code", "not a Germany postal code"),
        ("NL", "10125", "postal_code", "not a Netherlands postal code"),
        ("ZZ", "12345", "country", "We do not ship to that country"),
        ("JP", "100-0001", "country", "We do not ship to that country"),
        ("", "12345", "country", "We do not ship to that country"),
    ],
)
def test_an_address_that_cannot_be_shipped_to_is_refused_clearly(country, postal, field, message):
    with pytest.raises(AddressInvalid) as refused:
        address_clean(**BASE, country=country, postal_code=postal, region="CA")
    assert message in refused.value.errors[field]


def test_missing_parts_are_named_and_a_us_address_needs_its_state():
    with pytest.raises(AddressInvalid) as refused:
        address_clean(country="US", postal_code="94107", phone="call me")
    assert refused.value.errors == {
        "name": "Enter your name.",
        "line1": "Enter the street address.",
        "city": "Enter the city.",
        "region": "Enter the state or province.",
        "phone": "Enter a phone number with digits only, e.g. +1 415 555 0100.",
    }


def _cart_with_a_pair(client):
    variant = VariantFactory(stock_on_hand=2)
    client.post("/cart/add", {"variant": variant.pk}, **ORIGIN)
    return variant, client.get("/cart").context["summary"].fingerprint


def test_an_invalid_address_reserves_nothing_and_sends_nothing_to_stripe(client, standin):
    user = UserFactory()
    client.force_login(user)
    variant, fingerprint = _cart_with_a_pair(client)
    asked = client.post("/checkout", {"fingerprint": fingerprint})
    assert asked.status_code == 200
    assert "Where should we ship your pairs?" in asked.text

    bad = {**ADDRESS_FORM, "postal_code": "ABCDE", "country": "XX", "fingerprint": fingerprint}
    response = client.post("/checkout", bad)
    assert response.status_code == 400
    assert "We do not ship to that country; choose one from the list." in response.text
    assert 'role="alert"' in response.text
    with rls_service_scope():
        assert Order.objects.count() == 0
    assert Variant.objects.get(pk=variant.pk).stock_reserved == 0
    assert standin.store.sessions == {}


def test_a_saved_address_checks_out_without_retyping_and_the_order_keeps_a_snapshot(
    client, standin
):
    user = UserFactory()
    with rls_scope(user=user):
        Profile.objects.filter(user=user).update(
            full_name="Sam Shopper",
            address_line1="1 Market St",
            address_line2="Apt 4",
            city="San Francisco",
            region="CA",
            postal_code="94105",
            country="US",
        )
    client.force_login(user)
    _, fingerprint = _cart_with_a_pair(client)
    page = client.post("/checkout", {"fingerprint": fingerprint})
    form = page.context["form"]
    prefilled = {name: form[name].value() or "" for name in ADDRESS_FORM}
    assert prefilled == {**ADDRESS_FORM}
    assert 'autocomplete="shipping postal-code"' in page.text

    response = client.post("/checkout", {**prefilled, "fingerprint": fingerprint})
    assert response.status_code == 302
    assert response["Location"].startswith(standin.url)
    with rls_scope(user=user):
        order = Order.objects.get()
        Profile.objects.filter(user=user).update(address_line1="99 Elsewhere Rd")
    assert order.ship_to == SHIP_TO.as_dict()
    assert order.shipping_address == SHIP_TO.text
    detail = client.get(order.get_absolute_url()).text
    assert "1 Market St<br>Apt 4<br>San Francisco CA 94105<br>United States" in detail
    assert "99 Elsewhere Rd" not in detail  # a snapshot, not a reference


def test_save_to_profile_keeps_the_checkout_address_as_the_default(client, standin):
    user = UserFactory()
    client.force_login(user)
    _, fingerprint = _cart_with_a_pair(client)
    typed = {**ADDRESS_FORM, "phone": "+1 415 555 0100", "save_to_profile": "on"}
    client.post("/checkout", {**typed, "fingerprint": fingerprint})
    with rls_scope(user=user):
        profile = Profile.objects.get(user=user)
    assert (profile.address_line1, profile.postal_code, profile.phone) == (
        "1 Market St",
        "94105",
        "+1 415 555 0100",
    )


def test_the_admin_shows_the_address_and_prints_a_packing_slip(admin_client, client, standin):
    user = UserFactory()
    client.force_login(user)
    _, fingerprint = _cart_with_a_pair(client)
    client.post(
        "/checkout", {**ADDRESS_FORM, "phone": "+1 415 555 0100", "fingerprint": fingerprint}
    )
    with rls_service_scope():
        order = Order.objects.get()
    change = admin_client.get(f"/admin/orders/order/{order.pk}/change/").text
    assert "<address>Sam Shopper<br>1 Market St<br>Apt 4<br>" in change
    assert "Packing slip" in change
    slip = admin_client.get(f"/admin/orders/order/{order.pk}/packing-slip/")
    assert slip.status_code == 200
    assert "San Francisco CA 94105<br>United States<br>Phone +1 415 555 0100" in slip.text
    with rls_service_scope():
        line = order.lines.get()
    assert line.sku in slip.text
    assert "$" not in slip.text  # no prices in the box
    client.force_login(user)
    assert client.get(f"/admin/orders/order/{order.pk}/packing-slip/").status_code == 302
