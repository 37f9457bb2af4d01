"""A real shopper for the signed-in rows: signed up in the database, then
signed in through the login form and given a cart through the product page's
form, over HTTP, exactly as a browser behind the balancer would."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from http.cookies import SimpleCookie

from rdk.prodlike import FORWARDED_HEADERS

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_VARIANT = re.compile(r'name="variant" value="(\d+)" id="size-\d+"(?! disabled)')


class BenchError(Exception):
    pass


class Browser:
    """Cookies and the balancer headers over one keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in sorted(self.cookies.items()))

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        """(status, Location, body)."""
        headers = {**FORWARDED_HEADERS, "Origin": self.origin, "Referer": self.origin + path}
        if self.cookies:
            headers["Cookie"] = self.cookie_header
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel.value:
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
            return response.status, response.headers.get("Location", ""), text
        finally:
            connection.close()


def shopper_sign_in(*, port: int, username: str, password: str, product_slug: str) -> Browser:
    """Sign in through /account/login/ and put one pair of `product_slug` in the
    cart through its product page; the browser then carries the session."""
    browser = Browser(port)
    status, _, page = browser.request("GET", "/account/login/")
    token = _CSRF.search(page)
    if status != 200 or token is None:
        raise BenchError(f"The login page answered {status} without a CSRF token.")
    form = {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
    status, location, _ = browser.request("POST", "/account/login/", form)
    if status != 302 or "sessionid" not in browser.cookies:
        raise BenchError(f"Signing in as {username} answered {status}, not a redirect.")
    status, _, page = browser.request("GET", f"/products/{product_slug}")
    variant = _VARIANT.search(page)
    if status != 200 or variant is None:
        raise BenchError(f"/products/{product_slug} answered {status} with no size to buy.")
    status, location, _ = browser.request(
        "POST", "/cart/add", {"variant": variant.group(1), "quantity": "1"}
    )
    if status != 302 or not location.endswith("/cart"):
        raise BenchError(f"Adding to the cart answered {status} → {location!r}.")
    browser.request("GET", "/cart")  # reads the flash message, as the browser would
    return browser
