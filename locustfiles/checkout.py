"""Shoppers who sign up, sign in, add a pair to their cart, check out through the
Stripe stand-in's hosted page and look at their order; and a client hammering
sign-in who must be answered 429.

A shopper's journey is what a browser does: read the CSRF token from each
form, post it back with the site's Origin, follow the checkout redirect to the
stand-in's hosted page and submit its form with the card that succeeds, then
follow the redirect back to the shop. The shoppers want the same few pairs
(a release everybody queues for), so sizes sell out under contention; the run's
summary checks afterwards that no size was oversold.

Between journeys each shopper tries to open orders that belong to other
shoppers: anything but a 404 is counted as a leak (zero required).
"""

from __future__ import annotations

import random
import re
import uuid

from locust import between, constant_throughput, task
from shared import (
    COUNTERS,
    STANDIN,
    RdkUser,
    count,
    csrf_token,
    discover,
    forms,
    inputs,
    path_of,
    steady_state_begin,
)

RUN = uuid.uuid4().hex[:8]
PASSWORD = f"Load-{uuid.uuid4().hex}"  # a throwaway password for throwaway accounts
HOT_PRODUCTS = 6  # shoppers all want the same few pairs
ORDER_URL = re.compile(r"/account/orders/([0-9a-fA-F-]{36})")
VARIANT = re.compile(r'<input type="radio" name="variant" value="(\d+)"([^>]*)>')

# public_id -> shopper number, for the cross-shopper probes.
ORDERS: dict[str, int] = {}
_shoppers = iter(range(1, 1_000_000))


# A shipping address the shop accepts (orders/addresses.py).
SHIP_TO = {
    "name": "Load Tester",
    "line1": "1 Market St",
    "line2": "",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "phone": "",
}


class Shopper(RdkUser):
    kind = "legit"
    network = 2
    fixed_count = 8
    # A brisk shopper: about five checkouts a minute, well inside the checkout
    # limit (10/m per shopper); legitimate traffic must never see a 429.
    wait_time = between(3.0, 6.0)

    def on_start(self) -> None:
        self.number = next(_shoppers)
        self.email = f"shopper-{RUN}-{self.number}@loadtest.example"
        self.mine: set[str] = set()
        self.slugs = discover(self.client)[:HOT_PRODUCTS]
        self.signed_in = self.sign_up() and self.sign_out() and self.sign_in()
        count("shopper:started")
        if COUNTERS["shopper:started"] == self.fixed_count:  # the last shopper in
            steady_state_begin(self.environment)

    def context(self) -> dict:
        signed_in = getattr(self, "signed_in", False)
        return {"kind": self.kind, "shopper": self.number, "signed_in": signed_in}

    # Forms -------------------------------------------------------------------------

    def headers(self, referer_path: str) -> dict[str, str]:
        return {"Origin": self.origin, "Referer": self.origin + referer_path}

    def get_form(self, path: str, name: str) -> str | None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{name} answered {response.status_code}")
                return None
            response.success()
            return response.text

    def post(self, path: str, data: dict, *, name: str, referer: str, expect=(302, 303)):
        """POST a form without following the redirect; the Location or None."""
        with self.client.post(
            path,
            data=data,
            headers=self.headers(referer),
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code in expect:
                response.success()
                return response.headers.get("Location") or ""
            response.failure(f"{name} answered {response.status_code}")
            return None

    # Accounts ----------------------------------------------------------------------

    def sign_up(self) -> bool:
        page = self.get_form("/account/signup/", "/account/signup/")
        if page is None:
            return False
        location = self.post(
            "/account/signup/",
            {
                "csrfmiddlewaretoken": csrf_token(page) or "",
                "full_name": f"Load Shopper {self.number}",
                "email": self.email,
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
            name="/account/signup/ (POST)",
            referer="/account/signup/",
        )
        count("shopper:signed_up" if location is not None else "shopper:signup_failed")
        return location is not None

    def sign_out(self) -> bool:
        page = self.get_form("/account/", "/account/")
        if page is None:
            return False
        location = self.post(
            "/account/logout/",
            {"csrfmiddlewaretoken": csrf_token(page) or ""},
            name="/account/logout/ (POST)",
            referer="/account/",
        )
        return location is not None

    def sign_in(self) -> bool:
        page = self.get_form("/account/login/", "/account/login/")
        if page is None:
            return False
        location = self.post(
            "/account/login/",
            {
                "csrfmiddlewaretoken": csrf_token(page) or "",
                "username": self.email,
                "password": PASSWORD,
            },
            name="/account/login/ (POST)",
            referer="/account/login/",
        )
        count("shopper:signed_in" if location is not None else "shopper:signin_failed")
        return location is not None

    # The journey -------------------------------------------------------------------

    @task(2)
    def browse(self) -> None:
        if self.slugs:
            self.get_form(f"/products/{random.choice(self.slugs)}", "/products/[slug] (signed in)")

    @task(3)
    def buy(self) -> None:
        if not self.signed_in or not self.slugs:
            return
        if not self.add_to_cart():
            return
        cart = self.get_form("/cart", "/cart")
        if cart is None:
            return
        checkout = next((body for a, body in forms(cart) if a.get("action") == "/checkout"), None)
        if checkout is None:
            count("shopper:cart_empty")  # the pair sold out while it sat in the cart
            return
        data = {field["name"]: field.get("value", "") for field in inputs(checkout)}
        # The address step (docs/orders.md): posted with the cart's form, as the
        # address page would post it.
        data.update(SHIP_TO)
        location = self.post("/checkout", data, name="/checkout (POST)", referer="/cart")
        if location is None:
            return
        count("shopper:checkout_started")
        if location.startswith(STANDIN):
            location = self.pay(location)
            if location is None:
                return
        self.see_order(location)

    def add_to_cart(self) -> bool:
        for slug in random.sample(self.slugs, len(self.slugs)):
            page = self.get_form(f"/products/{slug}", "/products/[slug] (signed in)")
            if page is None:
                return False
            sizes = [v for v, rest in VARIANT.findall(page) if "disabled" not in rest]
            if not sizes:
                count("shopper:product_sold_out")
                continue
            location = self.post(
                "/cart/add",
                {
                    "csrfmiddlewaretoken": csrf_token(page) or "",
                    "variant": random.choice(sizes),
                    "quantity": "1",
                },
                name="/cart/add (POST)",
                referer=f"/products/{slug}",
            )
            return location is not None
        return False

    def pay(self, url: str) -> str | None:
        """The stand-in's hosted page: submit its form with the preselected card
        (4242 4242 4242 4242, which succeeds); the redirect back to the shop."""
        with self.client.get(
            url, name="stand-in: hosted page", context={"kind": "standin"}, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"hosted page answered {response.status_code}")
                return None
            page = response.text
            response.success()
        found = [(a, body) for a, body in forms(page) if a.get("method", "").lower() == "post"]
        if not found:
            count("shopper:hosted_page_without_form")
            return None
        attrs, body = found[0]
        data = {}
        for field in inputs(body):
            if field.get("type") == "radio" and "checked" not in field:
                continue
            value = field.get("value", "")
            data[field["name"]] = (
                self.email if field.get("type") == "email" and not value else value
            )
        with self.client.post(
            STANDIN + attrs["action"],
            data=data,
            name="stand-in: pay",
            context={"kind": "standin"},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code not in (302, 303):
                response.failure(f"paying answered {response.status_code}")
                return None
            response.success()
            count("shopper:paid")
            return response.headers.get("Location") or ""

    def see_order(self, location: str) -> None:
        path = path_of(location)
        found = ORDER_URL.search(path)
        if found is None:
            # Back on a success page: follow it, then find the order in the list.
            with self.client.get(path, name="checkout return", catch_response=True) as response:
                if response.status_code >= 400:
                    response.failure(f"checkout return answered {response.status_code}")
                    return
                response.success()
            listing = self.get_form("/account/orders", "/account/orders")
            ids = ORDER_URL.findall(listing or "")
            found_id = next((i for i in ids if i not in self.mine), None)
            if found_id is None:
                return
            path = f"/account/orders/{found_id}"
        public_id = ORDER_URL.search(path).group(1)
        if self.get_form(path, "/account/orders/[own]") is not None:
            count("shopper:order_seen")
            self.mine.add(public_id)
            ORDERS[public_id] = self.number

    # Other shoppers' orders --------------------------------------------------------

    @task(2)
    def probe_other_orders(self) -> None:
        if not self.signed_in:
            return
        others = [pid for pid, owner in list(ORDERS.items()) if owner != self.number]
        if not others:
            return
        public_id = random.choice(others)
        count("leak:probes")
        with self.client.get(
            f"/account/orders/{public_id}",
            name="/account/orders/[someone else's]",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 404:
                response.success()
            elif response.status_code == 200:
                count("leak:reads")
                response.failure("LEAK: another shopper's order was shown")
            else:
                response.failure(f"expected 404, got {response.status_code}")

    @task(1)
    def my_orders(self) -> None:
        if self.signed_in:
            listing = self.get_form("/account/orders", "/account/orders")
            leaked = set(ORDER_URL.findall(listing or "")) & {
                pid for pid, owner in list(ORDERS.items()) if owner != self.number
            }
            if leaked:
                count("leak:reads", len(leaked))


class SignInHammer(RdkUser):
    """Password guessing from one address: RDK must answer 429 (with Retry-After)."""

    kind = "abusive"
    network = 9
    fixed_count = 1
    wait_time = constant_throughput(5)

    def on_start(self) -> None:
        self.token = None

    @task
    def guess(self) -> None:
        if self.token is None:
            with self.client.get("/account/login/", name="abusive: login page") as response:
                self.token = csrf_token(response.text) or ""
        count("abusive:attempts")
        with self.client.post(
            "/account/login/",
            data={
                "csrfmiddlewaretoken": self.token,
                "username": f"victim-{RUN}@loadtest.example",
                "password": uuid.uuid4().hex,
            },
            headers={"Origin": self.origin, "Referer": self.origin + "/account/login/"},
            name="abusive: POST /account/login/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 429:
                count("abusive:429")
                if response.headers.get("Retry-After"):
                    count("abusive:429_with_retry_after")
                response.success()
            elif response.status_code == 200:
                response.success()  # the form again: "that email and password do not match"
            else:
                response.failure(f"expected 200 or 429, got {response.status_code}")
