"""Runtime switches: feature flags, maintenance areas and the cache bypass.

The state of every switch lives in PostgreSQL (`rdk.Switch`) and is mirrored in
the shared cache under one key, so a request costs no SQL query. Each process
keeps what it read for at most `LOCAL_TTL` seconds, so a change made through
any process is seen by every other within a second.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TypedDict

from django.core.cache import cache
from django.db import transaction

from rdk.audit import audit_record
from rdk.cachetags import revalidate_tag
from rdk.exceptions import UnknownSwitch
from rdk.models import Switch

logger = logging.getLogger(__name__)

CACHE_KEY = "switches:v1"
LOCAL_TTL = 0.5


@dataclass(frozen=True)
class SwitchSpec:
    name: str
    label: str
    help: str
    default: bool


SWITCHES: dict[str, SwitchSpec] = {
    spec.name: spec
    for spec in (
        SwitchSpec("feature.checkout", "Checkout", "Shoppers can place orders and pay.", True),
        SwitchSpec("feature.signup", "Sign-up", "New shoppers can create accounts.", True),
        SwitchSpec(
            "feature.api_writes", "API writes", "Write endpoints of the API accept requests.", True
        ),
        SwitchSpec(
            "maintenance.catalog",
            "Maintenance: catalog",
            "Catalog pages and the products API answer 503.",
            False,
        ),
        SwitchSpec(
            "maintenance.checkout",
            "Maintenance: cart and checkout",
            "Cart and checkout answer 503.",
            False,
        ),
        SwitchSpec(
            "maintenance.account",
            "Maintenance: accounts",
            "Sign-in, sign-up and account pages answer 503.",
            False,
        ),
        SwitchSpec(
            "maintenance.api", "Maintenance: API", "The /api/v1/ endpoints answer 503.", False
        ),
        SwitchSpec(
            "cache.force_dynamic",
            "Force dynamic rendering",
            "Bypass page and fragment caches site-wide (the runbook's 'bypass ISR').",
            False,
        ),
    )
}


class _LocalCopy(TypedDict):
    states: dict[str, bool] | None
    read_at: float


_local: _LocalCopy = {"states": None, "read_at": 0.0}

CHECKOUT_MAINTENANCE = "maintenance.checkout"
# The cache tag of pages that say whether checkout is open (product pages).
CHECKOUT_MAINTENANCE_TAG = "checkout-maintenance"


def _from_database() -> dict[str, bool]:
    states = {spec.name: spec.default for spec in SWITCHES.values()}
    states.update(dict(Switch.objects.values_list("name", "is_on")))
    return states


def _load_states() -> dict[str, bool]:
    try:
        states: dict[str, bool] | None = cache.get(CACHE_KEY)
    except Exception:  # a cache outage must not take every request down; /readyz reports it
        logger.warning("switches.cache_unavailable")
        return _from_database()
    if states is None:
        states = _from_database()
        cache.set(CACHE_KEY, states, timeout=None)
    return states


def _current_states() -> dict[str, bool]:
    # The process's shared copy: callers must not modify it.
    now = time.monotonic()
    states = _local["states"]
    if states is None or now - _local["read_at"] > LOCAL_TTL:
        states = _load_states()
        _local.update({"states": states, "read_at": now})
    return states


def switch_states() -> dict[str, bool]:
    """Every declared switch and whether it is on."""
    return dict(_current_states())


def switch_is_on(name: str) -> bool:
    # Called per cached fragment and per request: reads without copying.
    if name not in SWITCHES:
        raise UnknownSwitch(f"No switch is named {name!r}.")
    return _current_states()[name]


def _forget() -> None:
    cache.delete(CACHE_KEY)
    _local.update({"states": None, "read_at": 0.0})


@transaction.atomic
def switch_set(*, name: str, on: bool, actor: str, reason: str = "") -> Switch:
    """Turn a switch on or off; every process sees it within a second."""
    if name not in SWITCHES:
        raise UnknownSwitch(f"No switch is named {name!r}.")
    switch, _ = Switch.objects.update_or_create(
        name=name, defaults={"is_on": on, "reason": reason[:500], "updated_by": actor[:150]}
    )
    transaction.on_commit(_forget)
    if name == CHECKOUT_MAINTENANCE:
        # Product pages, cached whole, warn shoppers while checkout is closed.
        revalidate_tag(CHECKOUT_MAINTENANCE_TAG, reason=f"switch {name} {'on' if on else 'off'}")
    audit_record(
        action="switch.set", actor=actor, target=name, outcome="on" if on else "off", reason=reason
    )
    logger.info("switch.set", extra={"switch": name, "on": on, "actor": actor})
    return switch
