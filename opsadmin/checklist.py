"""The runbook's daily checklist (§1) on one screen: each item is a function
returning a ChecklistItem. Later parts add theirs to CHECKLIST:

- payments: `webhook_backlog` (failed/pending Stripe events, oldest age) —
  replace `_webhooks_placeholder` with a call to payments' selector;
- orders: reservations awaiting release — replace `_reservations_placeholder`;
- jobs: `/jobs/health` once it exists (RUNBOOK §13).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from opsadmin import selectors
from opsadmin.models import SnapshotCheck
from rdk.health import readiness


@dataclass
class ChecklistItem:
    title: str
    state: str  # ok | warn | bad | info
    summary: str
    link: str = ""
    link_text: str = ""
    runbook: str = ""


def _readiness() -> ChecklistItem:
    ok, checks = readiness()
    failing = [name for name, result in checks.items() if not result["ok"]]
    return ChecklistItem(
        "Readiness (/readyz)",
        "ok" if ok else "bad",
        "Database, cache, migrations and configuration all answer."
        if ok
        else f"Failing: {', '.join(failing)}.",
        "/readyz",
        "Open /readyz",
        "§1, §2.1 step 6",
    )


def _incidents() -> ChecklistItem:
    open_incidents = list(selectors.incident_list(status="open")[:20])
    breached = [
        i
        for i in open_incidents
        if any(c.state == "breached" for c in selectors.incident_clocks(i))
    ]
    if not open_incidents:
        state, text = "ok", "No open incident."
    else:
        state = "bad" if breached else "warn"
        text = f"{len(open_incidents)} open, {len(breached)} past an SLA."
    return ChecklistItem(
        "Incidents", state, text, reverse("admin:ops_incidents"), "Incidents", "§2"
    )


def _switches() -> ChecklistItem:
    changed = [row for row in selectors.switch_rows() if not row.is_default]
    if not changed:
        return ChecklistItem(
            "Switches",
            "ok",
            "Every switch is at its default.",
            reverse("admin:ops_switches"),
            "Switches",
            "§2.1 Contain",
        )
    names = ", ".join(f"{row.label} {'on' if row.is_on else 'off'}" for row in changed)
    return ChecklistItem(
        "Switches",
        "warn",
        f"Changed from default: {names}.",
        reverse("admin:ops_switches"),
        "Switches",
        "§2.1 Contain",
    )


def _snapshots() -> ChecklistItem:
    latest = selectors.snapshot_latest()
    verify = selectors.snapshot_check_last(SnapshotCheck.Kind.VERIFY)
    restore = selectors.snapshot_check_last(SnapshotCheck.Kind.RESTORE_CHECK)
    link = reverse("admin:ops_snapshots")
    if latest is None:
        return ChecklistItem("Snapshots", "bad", "No snapshot taken yet.", link, "Snapshots", "§5")
    parts = [f"Latest {timesince(latest.created_at, timezone.now())} ago"]
    state = "ok"
    for label, check in (("verify", verify), ("restore check", restore)):
        if check is None:
            parts.append(f"no {label} yet")
            state = "warn" if state == "ok" else state
        else:
            parts.append(f"last {label} {'passed' if check.ok else 'FAILED'}")
            if not check.ok:
                state = "bad"
    return ChecklistItem("Snapshots", state, "; ".join(parts) + ".", link, "Snapshots", "§5")


def _webhooks_placeholder() -> ChecklistItem:
    return ChecklistItem(
        "Stripe webhooks",
        "info",
        "Webhook backlog appears here once the payments part is wired in.",
        runbook="§1, §6",
    )


def _reservations_placeholder() -> ChecklistItem:
    return ChecklistItem(
        "Stock reservations",
        "info",
        "Reservations awaiting release appear here once the orders part is wired in.",
        runbook="§13",
    )


CHECKLIST: list[Callable[[], ChecklistItem]] = [
    _readiness,
    _incidents,
    _switches,
    _snapshots,
    _webhooks_placeholder,
    _reservations_placeholder,
]


def checklist() -> list[ChecklistItem]:
    return [item() for item in CHECKLIST]
