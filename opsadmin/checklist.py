"""The runbook's daily checklist (§1) on one screen: each item is a function
returning a ChecklistItem. Readiness (/readyz) first, then /jobs/health and
the three areas it watches (Stripe webhooks, stock reservations, snapshots)
from one report computed once per page, then incidents and switches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from opsadmin import selectors
from opsadmin.jobshealth import JobsHealth, jobs_health
from rdk.degradations import degradations_active
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
    status, checks = readiness()
    failing = ", ".join(name for name, result in checks.items() if not result["ok"])
    if status == "ok":
        state, text = "ok", "Database, cache, migrations and configuration all answer."
    elif status == "degraded":
        state = "warn"
        text = f"Degraded: {failing}. The shop still serves (see Degradations below)."
    else:
        state, text = "bad", f"Failing: {failing}."
    return ChecklistItem(
        "Readiness (/readyz)", state, text, "/readyz", "Open /readyz", "§1, §2.1 step 6"
    )


def _degradations() -> ChecklistItem:
    active = degradations_active()
    if not active:
        return ChecklistItem(
            "Degradations", "ok", "Every dependency answers.", runbook="docs/operations.md"
        )
    text = " ".join(
        f"{item.name} since {timesince(datetime.fromtimestamp(item.since, tz=UTC))} "
        f"({item.count} times; {item.reason}): {item.summary}"
        for item in active
    )
    return ChecklistItem("Degradations", "warn", text, runbook="docs/operations.md")


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


def _snapshots(health: JobsHealth) -> ChecklistItem:
    snaps = health.snapshots
    link = reverse("admin:ops_snapshots")
    if snaps["latest"] is None:
        return ChecklistItem("Snapshots", "bad", "No snapshot taken yet.", link, "Snapshots", "§5")
    parts = [f"Latest {_age(snaps['latest_age_seconds'])} ago"]
    state = "ok" if snaps["ok"] else "bad"
    for label, check in (("verify", snaps["verify"]), ("restore check", snaps["restore_check"])):
        if check["ok"] is None:
            parts.append(f"no {label} yet")
        else:
            parts.append(
                f"last {label} {'passed' if check['ok'] else 'FAILED'} "
                f"{_age(check['age_seconds'])} ago"
            )
    if state == "ok" and snaps["verify"]["ok"] is None:
        state = "warn"
    return ChecklistItem("Snapshots", state, "; ".join(parts) + ".", link, "Snapshots", "§5")


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    return timesince(timezone.now() - timedelta(seconds=seconds), timezone.now())


def _webhooks(health: JobsHealth) -> ChecklistItem:
    hooks = health.webhooks
    counts = hooks["counts"]
    text = (
        f"{counts['processed']} processed, {counts['failed']} failed, "
        f"{counts['received']} waiting, {counts['ignored']} ignored."
    )
    if counts.get("handled"):
        text += f" {counts['handled']} marked handled by staff."
    if hooks["unprocessed"]:
        text += f" Oldest unprocessed: {_age(hooks['oldest_unprocessed_age_seconds'])} ago."
    if not hooks["ok"]:
        state = "bad"
    elif hooks["unprocessed"]:
        state = "warn"
    else:
        state = "ok"
    link = reverse("admin:ops_webhooks")
    if counts["failed"]:
        link += "?status=failed"
    return ChecklistItem("Stripe webhooks", state, text, link, "Webhooks", "§1, §6")


def _reservations(health: JobsHealth) -> ChecklistItem:
    held = health.reservations
    if not held["awaiting_release"]:
        return ChecklistItem(
            "Stock reservations", "ok", "No expired reservation holds stock.", runbook="§13"
        )
    text = (
        f"{held['awaiting_release']} expired reservation(s) still hold stock, the oldest "
        f"expired {_age(held['oldest_overdue_seconds'])} ago. "
        "The release job (manage.py release_expired_reservations, every minute) frees them."
    )
    state = "warn" if held["ok"] else "bad"
    return ChecklistItem("Stock reservations", state, text, runbook="§13")


def _jobs(health: JobsHealth) -> ChecklistItem:
    if health.ok:
        text = (
            "Webhooks, snapshots, reservations, the task queue and the schedule "
            "are within their thresholds."
        )
    else:
        text = " ".join(health.problems)
    return ChecklistItem(
        "Jobs health (/jobs/health)",
        "ok" if health.ok else "bad",
        text,
        reverse("opsadmin:jobs_health"),
        "Open /jobs/health",
        "§13",
    )


def _tasks(health: JobsHealth) -> ChecklistItem:
    queue = health.tasks
    late = [row["task"] for row in health.schedule if not row["ok"]]
    text = f"{queue['due']} waiting, {queue['running']} running, {queue['failed']} failed."
    if queue["oldest_due_age_seconds"] is not None:
        text += f" Oldest waiting: {_age(queue['oldest_due_age_seconds'])}."
    if late:
        text += f" Late or never run: {', '.join(late)}."
    state = "bad" if not queue["ok"] else "warn" if late else "ok"
    link = reverse("admin:ops_jobs")
    if queue["failed"]:
        link += "?status=failed"
    return ChecklistItem("Background tasks", state, text, link, "Jobs", "§13")


CHECKLIST: list[Callable[[], ChecklistItem]] = [_readiness, _degradations, _incidents, _switches]
HEALTH_CHECKLIST: list[Callable[[JobsHealth], ChecklistItem]] = [
    _jobs,
    _webhooks,
    _tasks,
    _reservations,
    _snapshots,
]


def checklist() -> list[ChecklistItem]:
    health = jobs_health()
    first, *rest = [item() for item in CHECKLIST]
    return [first, *(item(health) for item in HEALTH_CHECKLIST), *rest]
