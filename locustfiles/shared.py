"""What every RDK locustfile shares: where RDK runs, the balancer headers, the
counters the pass/fail summary reads, and small HTML helpers.

Configuration (set by `make loadtest`, locustfiles/run.py):

- `LOADTEST_HOSTS`: comma-separated RDK base URLs; virtual users are spread
  over them round-robin (one host unless the run is scaled out);
- `LOADTEST_COUNTERS`: a JSON file the counters are written to when the run stops;
- `LOADTEST_STANDIN`: the Stripe stand-in's base URL;
- `STRIPE_WEBHOOK_SECRETS`: the secret(s) RDK verifies webhooks with (the first signs);
- `LOADTEST_TIMELINE`: when set, a JSON file of answers per second (all, 5xx,
  unanswered) written when the run stops (`make chaos` reads it per fault);
- `LOADTEST_STEADY_STATE`: when set, locust's statistics start again once every
  shopper has signed up and in (`steady_state_begin`), so that they describe
  the mix without its ramp-up (`make bench`'s checkout row, bench/mix.py).

Each virtual user is one client behind a TLS-terminating load balancer: it sends
`X-Forwarded-Proto: https` and an `X-Forwarded-For` address of its own (RDK runs
with `TRUSTED_PROXY_COUNT=1`), so per-address limits count each client apart.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import threading
import time
from collections import Counter
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

from gevent.lock import Semaphore
from locust import FastHttpUser, events

HOSTS = [h.strip().rstrip("/") for h in os.environ.get("LOADTEST_HOSTS", "").split(",") if h]
STANDIN = os.environ.get("LOADTEST_STANDIN", "http://127.0.0.1:12201").rstrip("/")
SECRETS = os.environ.get("STRIPE_WEBHOOK_SECRETS") or "whsec_rdk_local_standin"
WEBHOOK_SECRET = SECRETS.split(",")[0]
STEADY_STATE = bool(os.environ.get("LOADTEST_STEADY_STATE"))

COUNTERS: Counter[str] = Counter()
# Second (Unix time) -> answers in it, when LOADTEST_TIMELINE asks for them.
TIMELINE: dict[int, Counter[str]] = {}
_lock = threading.Lock()
_host_cycle = itertools.count()
_address_cycle = itertools.count(1)


def count(name: str, n: int = 1) -> None:
    with _lock:
        COUNTERS[name] += n


def next_host(default: str | None) -> str | None:
    if not HOSTS:
        return default
    return HOSTS[next(_host_cycle) % len(HOSTS)]


def next_address(network: int) -> str:
    """A client address of its own in 10.<network>.0.0/16."""
    n = next(_address_cycle)
    return f"10.{network}.{n // 250 % 250}.{n % 250 + 1}"


class BalancerCookiePolicy(DefaultCookiePolicy):
    """The balancer speaks HTTPS to the browser: RDK's Secure cookies go back
    over this loopback HTTP hop, as they would from a browser over HTTPS."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True


class RdkUser(FastHttpUser):
    """A client behind the balancer, pinned to one RDK host and one address."""

    abstract = True
    kind = "legit"  # which counters its statuses go to: legit, abusive, webhook
    network = 1  # second octet of this class's client addresses

    def __init__(self, environment) -> None:
        self.host = next_host(self.host or environment.host)
        self.address = next_address(self.network)
        self.default_headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "User-Agent": f"rdk-loadtest/{self.kind}",
        }
        super().__init__(environment)
        self.client.cookiejar.set_policy(BalancerCookiePolicy())

    @property
    def origin(self) -> str:
        """This site as the browser sees it (https through the balancer)."""
        return "https://" + self.host.split("://", 1)[1]

    def context(self) -> dict:
        return {"kind": self.kind}


@events.request.add_listener
def _count_statuses(request_type, name, response, context, exception, **kwargs) -> None:
    kind = (context or {}).get("kind", "other")
    status = getattr(response, "status_code", 0) or 0
    count(f"requests:{kind}")
    if status >= 500 or status == 0:
        count(f"5xx:{kind}" if status else f"no_answer:{kind}")
    if os.environ.get("LOADTEST_TIMELINE"):
        outcome = "5xx" if status >= 500 else "no_answer" if status == 0 else "served"
        with _lock:
            TIMELINE.setdefault(int(time.time()), Counter())[outcome] += 1
    elif status == 429:
        count(f"429:{kind}")
    served_by = _served_by(response)
    if served_by:
        count(f"host:{served_by}")
        if status == 429:
            count(f"429:{kind}:{served_by}")
        kept = status == 200 and "/account/login" not in str(getattr(response, "url", ""))
        _follow_session(name, kept, served_by, context or {})


def _served_by(response) -> str | None:
    """The RDK host that answered, named by the balancer (`make scaleout`'s
    HAProxy adds X-Served-By); None when RDK is reached directly."""
    headers = getattr(response, "headers", None)
    return headers.get("X-Served-By") if headers else None


_last_host: dict[int, str] = {}
# Pages a signed-in shopper gets with 200 and a signed-out one does not (the
# probes of other shoppers' orders answer 404 whoever asks).
OWN_ACCOUNT_PAGES = ("/account/orders", "/account/orders/[own]")


def _follow_session(name: str, kept: bool, served_by: str, context: dict) -> None:
    """A signed-in shopper's account page answered by another host than the one
    before: counted, and whether the session cookie still signed them in there
    (200, not a redirect to the sign-in page)."""
    shopper = context.get("shopper")
    if not shopper or not context.get("signed_in"):
        return
    with _lock:
        previous, _last_host[shopper] = _last_host.get(shopper), served_by
    if previous is None or previous == served_by or name not in OWN_ACCOUNT_PAGES:
        return
    count("session:host_change")
    count("session:kept_after_host_change" if kept else "session:lost_after_host_change")


def steady_state_begin(environment) -> None:
    """The ramp-up is over: every shopper has signed up and signed in, each
    costing a password hash (~0.5 s of a worker's CPU), at 2 users a second.
    With LOADTEST_STEADY_STATE, the statistics restart here (the counters go on)."""
    if STEADY_STATE:
        ramp = time.time() - environment.stats.total.start_time
        environment.stats.reset_all()
        count("stats:steady_state_after_s", round(ramp))


@events.quitting.add_listener
def _write_counters(environment, **kwargs) -> None:
    path = os.environ.get("LOADTEST_COUNTERS")
    if path:
        with _lock:
            Path(path).write_text(json.dumps(dict(COUNTERS), indent=2, sort_keys=True))
    timeline = os.environ.get("LOADTEST_TIMELINE")
    if timeline:
        with _lock:
            seconds = {second: dict(answers) for second, answers in sorted(TIMELINE.items())}
        Path(timeline).write_text(json.dumps(seconds))


# HTML helpers --------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.S | re.I)
_ATTR = re.compile(r'(\w[\w-]*)(?:="([^"]*)")?')
_INPUT = re.compile(r"<input\b([^>]*)>", re.I)


def csrf_token(text: str) -> str | None:
    found = _CSRF.search(text or "")
    return found.group(1) if found else None


def attrs(tag: str) -> dict[str, str]:
    return {name.lower(): html.unescape(value or "") for name, value in _ATTR.findall(tag)}


def forms(text: str) -> list[tuple[dict[str, str], str]]:
    """Every form on a page: (its attributes, its inner HTML)."""
    return [(attrs(m.group("attrs")), m.group("body")) for m in _FORM.finditer(text or "")]


def inputs(body: str) -> list[dict[str, str]]:
    return [attrs(m.group(1)) for m in _INPUT.finditer(body)]


def path_of(url: str) -> str:
    """A Location on this site as a path: SITE_URL may name the other process,
    or https, and each user talks to its own host."""
    match = re.match(r"https?://[^/]+(/.*)?$", url)
    if match:
        return match.group(1) or "/"
    return url


# The catalog, discovered once per run from the products API ---------------------------

CATALOG: dict[str, list[str]] = {"slugs": [], "brands": []}
_discovering = Semaphore()


def discover(client) -> list[str]:
    """Fill CATALOG from /api/v1/products (every page), once per run; the slugs."""
    with _discovering:
        if CATALOG["slugs"]:
            return CATALOG["slugs"]
        url = "/api/v1/products?page_size=100"
        while url:
            with client.get(url, name="/api/v1/products (discovery)", catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"discovery answered {r.status_code}")
                    return []
                body = r.json()
                r.success()
            for product in body.get("results", []):
                CATALOG["slugs"].append(product["slug"])
                brand = product.get("brand_slug")
                if brand and brand not in CATALOG["brands"]:
                    CATALOG["brands"].append(brand)
            url = path_of(body["next"]) if body.get("next") else None
        return CATALOG["slugs"]
