"""Reads for the ops console: what each page shows, computed once here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from opsadmin.models import (
    Incident,
    IncidentStatus,
    SessionActivity,
    SessionEpoch,
    Snapshot,
    SnapshotCheck,
)
from orders.models import Order
from payments.models import StripeEvent
from rdk.cachetags import revalidation_log, tag_versions
from rdk.funnel import funnel_rows, funnel_totals
from rdk.models import FunnelStep
from rdk.switches import SWITCHES, switch_states

# Incidents -------------------------------------------------------------------------

RESPOND_SLA = {"P0": timedelta(minutes=15), "P1": timedelta(minutes=30)}
RESOLVE_SLA = {
    "P0": timedelta(hours=2),
    "P1": timedelta(hours=6),
    "P2": timedelta(hours=24),  # the runbook's "same day"
    "P3": timedelta(hours=48),
}
NEXT_UPDATE = {"P0": "15 min", "P1": "30 min", "P2": "2 h", "P3": "24 h"}


@dataclass(frozen=True)
class SlaClock:
    label: str
    deadline: datetime
    stopped_at: datetime | None
    now: datetime

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    @property
    def breached(self) -> bool:
        return (self.stopped_at or self.now) > self.deadline

    @property
    def remaining_seconds(self) -> int:
        return int((self.deadline - (self.stopped_at or self.now)).total_seconds())

    @property
    def state(self) -> str:
        if self.running:
            return "breached" if self.breached else "running"
        return "missed" if self.breached else "met"

    @property
    def text(self) -> str:
        seconds = abs(self.remaining_seconds)
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        span = f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"
        if self.state == "running":
            return f"{span} left"
        if self.state == "breached":
            return f"overdue by {span}"
        if self.state == "met":
            return f"met with {span} to spare"
        return f"missed by {span}"


def incident_clocks(incident: Incident, *, now: datetime | None = None) -> list[SlaClock]:
    now = now or timezone.now()
    clocks = []
    respond = RESPOND_SLA.get(incident.severity)
    if respond:
        clocks.append(
            SlaClock("Respond", incident.started_at + respond, incident.responded_at, now)
        )
    clocks.append(
        SlaClock(
            "Resolve",
            incident.started_at + RESOLVE_SLA[incident.severity],
            incident.resolved_at,
            now,
        )
    )
    return clocks


def incident_list(*, status: str = "") -> QuerySet[Incident]:
    incidents = Incident.objects.all()
    if status == "open":
        incidents = incidents.exclude(status=IncidentStatus.RESOLVED)
    elif status in IncidentStatus.values:
        incidents = incidents.filter(status=status)
    return incidents


def incident_get(*, key: str) -> Incident | None:
    """By public id (UUID) or by number (#pk)."""
    key = str(key).strip().lstrip("#")
    if key.isdigit():
        return Incident.objects.filter(pk=int(key)).first()
    try:
        return Incident.objects.filter(public_id=key).first()
    except Exception:  # a malformed UUID is simply not found
        return None


def _ts(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def incident_start_message(incident: Incident) -> str:
    """RUNBOOK §12 'Incident Start', filled in."""
    return (
        f"[Incident] {incident.severity} — {incident.title}\n"
        f"Start: {_ts(incident.started_at)}\n"
        f"Impact: {incident.impact}\n"
        f"Status: {incident.get_status_display()}\n"
        f"Next Update: {NEXT_UPDATE[incident.severity]}\n"
    )


def incident_resolution_message(incident: Incident) -> str:
    """RUNBOOK §12 'Incident Resolution', filled in."""
    return (
        f"[Resolved] Incident #{incident.pk}\n"
        f"Root Cause: {incident.root_cause or '(to be written)'}\n"
        f"Fix: {incident.fix or '(to be written)'}\n"
        f"Follow-Up: {incident.follow_ups or '(to be written)'}\n"
    )


def incident_markdown(incident: Incident) -> str:
    """docs/incidents/YYYY-MM-DD.md: what happened, why, what we changed."""
    lines = [
        f"<!-- rdk-incident: {incident.public_id} -->",
        f"# Incident #{incident.pk}: {incident.title}",
        "",
        f"- Severity: {incident.severity}",
        f"- Status: {incident.get_status_display()}",
        f"- Trigger: {incident.get_trigger_source_display()}",
        f"- Started: {_ts(incident.started_at)}",
        f"- First response: {_ts(incident.responded_at)}",
        f"- Resolved: {_ts(incident.resolved_at)}",
        f"- Opened by: {incident.created_by}",
        "",
        "## Impact",
        "",
        incident.impact,
        "",
        "## SLA",
        "",
    ]
    for clock in incident_clocks(incident):
        lines.append(f"- {clock.label} by {_ts(clock.deadline)}: {clock.text}")
    lines += ["", "## Root cause", "", incident.root_cause or "_Not written yet._", ""]
    lines += ["## Fix", "", incident.fix or "_Not written yet._", ""]
    lines += ["## Follow-ups", "", incident.follow_ups or "_None recorded._", ""]
    lines += [
        "Add the RLS test, load test or check that catches this next time (RUNBOOK §2.1 step 7).",
        "",
    ]
    lines += ["## Related ids", ""]
    lines.append("- Request ids: " + (", ".join(f"`{i}`" for i in incident.request_ids) or "none"))
    lines.append(
        "- Stripe events: " + (", ".join(f"`{i}`" for i in incident.stripe_event_ids) or "none")
    )
    lines += [
        "",
        "## Timeline",
        "",
        "| Time (UTC) | Status | By | Note |",
        "| --- | --- | --- | --- |",
    ]
    for update in incident.updates.all():
        note = update.note.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {_ts(update.at)} | {update.get_status_to_display()} | {update.author} | {note} |"
        )
    return "\n".join(lines) + "\n"


# Switches -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SwitchRow:
    name: str
    label: str
    help: str
    is_on: bool
    default: bool
    reason: str
    updated_by: str
    updated_at: datetime | None

    @property
    def is_default(self) -> bool:
        return self.is_on == self.default


def switch_rows() -> list[SwitchRow]:
    from rdk.models import Switch

    states = switch_states()
    stored = {switch.name: switch for switch in Switch.objects.all()}
    rows = []
    for spec in SWITCHES.values():
        row = stored.get(spec.name)
        rows.append(
            SwitchRow(
                name=spec.name,
                label=spec.label,
                help=spec.help,
                is_on=states[spec.name],
                default=spec.default,
                reason=row.reason if row else "",
                updated_by=row.updated_by if row else "",
                updated_at=row.updated_at if row else None,
            )
        )
    return rows


# Sessions -----------------------------------------------------------------------------


def session_users(*, query: str = "", limit: int = 100) -> QuerySet[User]:
    """Users with active recorded sessions (count, last seen), most recent first."""
    User = get_user_model()
    active = Q(session_activity__ended_at=None)
    users = (
        User.objects.annotate(
            active_sessions=Count("session_activity", filter=active),
            last_seen=Max("session_activity__last_seen", filter=active),
        )
        .filter(active_sessions__gt=0)
        .order_by("-last_seen")
    )
    if query:
        users = users.filter(Q(username__icontains=query) | Q(email__icontains=query))
    return users[:limit]


def session_activity_for(user_ids: list[int]) -> dict[int, list[SessionActivity]]:
    rows: dict[int, list[SessionActivity]] = {}
    for activity in SessionActivity.objects.filter(user_id__in=user_ids, ended_at=None):
        rows.setdefault(activity.user_id, []).append(activity)
    return rows


def session_epochs() -> list[SessionEpoch]:
    return list(SessionEpoch.objects.filter(scope__in=["all", "staff"]))


# Snapshots ----------------------------------------------------------------------------


def snapshot_list(limit: int = 50) -> list[Snapshot]:
    return list(Snapshot.objects.all()[:limit])


def snapshot_by_name(name: str) -> Snapshot | None:
    """A snapshot by its file name, or the newest for 'latest'."""
    if name == "latest":
        return Snapshot.objects.first()
    return Snapshot.objects.filter(file_name=name).first()


def snapshot_latest() -> Snapshot | None:
    return Snapshot.objects.first()


def snapshot_check_last(kind: str, *, ok: bool | None = None) -> SnapshotCheck | None:
    checks = SnapshotCheck.objects.filter(kind=kind).select_related("snapshot")
    if ok is not None:
        checks = checks.filter(ok=ok)
    return checks.first()


def snapshot_checks_recent(limit: int = 20) -> list[SnapshotCheck]:
    return list(SnapshotCheck.objects.select_related("snapshot")[:limit])


# Cache ---------------------------------------------------------------------------------


def cache_overview(limit: int = 50) -> tuple[dict[str, int], list[dict[str, Any]]]:
    log = revalidation_log(limit)
    tags = ["catalog"]
    for entry in log:
        tags.extend(entry.get("tags", []))
    versions = tag_versions(tags)
    entries = [{**entry, "at_dt": datetime.fromtimestamp(entry["at"], tz=UTC)} for entry in log]
    return versions, entries


# Background tasks ---------------------------------------------------------------


JOB_STATUSES = ("READY", "RUNNING", "FAILED", "SUCCESSFUL")


def job_list(*, status: str = "", limit: int = 100) -> list[DBTaskResult[..., Any]]:
    """The most recent tasks, newest first, optionally of one status."""
    jobs = DBTaskResult.objects.order_by("-enqueued_at")
    if status:
        jobs = jobs.filter(status=status)
    return list(jobs[:limit])


# Checkout funnel ------------------------------------------------------------------------

FUNNEL_PATH = [
    FunnelStep.PRODUCT_VIEW,
    FunnelStep.CART_ADD,
    FunnelStep.CHECKOUT_START,
    FunnelStep.STRIPE_HANDOVER,
    FunnelStep.PAID,
]


@dataclass(frozen=True)
class FunnelRow:
    label: str
    count: int
    kept_percent: int | None  # of the previous step; None for the first
    drop_percent: int | None


@dataclass(frozen=True)
class FunnelWindow:
    label: str
    since: datetime
    rows: list[FunnelRow]
    abandoned: int


@dataclass(frozen=True)
class FunnelSummary:
    windows: list[FunnelWindow]
    paid_percent: int | None  # paid / handed to Stripe in the alert window
    threshold: int
    min_handovers: int
    alert: str  # empty when quiet


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _funnel_window(
    label: str, since: datetime, rows: list[tuple[datetime, str, int]]
) -> FunnelWindow:
    totals = funnel_totals(since=since, rows=rows)
    funnel: list[FunnelRow] = []
    previous = None
    for step in FUNNEL_PATH:
        count = totals[step]
        kept = None if previous is None else _percent(count, previous)
        funnel.append(
            FunnelRow(step.label, count, kept, None if kept is None else max(0, 100 - kept))
        )
        previous = count
    return FunnelWindow(label, since, funnel, totals[FunnelStep.ABANDONED])


def funnel_summary(*, now: datetime | None = None) -> FunnelSummary:
    """The funnel for the current hour (and the one before) and the last 24 hours,
    with the paid-rate alert: paid / handed to Stripe below FUNNEL_ALERT_PAID_PERCENT
    once at least FUNNEL_ALERT_MIN_HANDOVERS hand-overs happened."""
    now = now or timezone.now()
    rows = funnel_rows(since=now - timedelta(hours=24))
    recent = _funnel_window("Last hour", now - timedelta(hours=1), rows)
    day = _funnel_window("Last 24 hours", now - timedelta(hours=24), rows)
    counts = {row.label: row.count for row in recent.rows}
    handed = counts[FunnelStep.STRIPE_HANDOVER.label]
    paid_percent = _percent(counts[FunnelStep.PAID.label], handed)
    threshold = settings.FUNNEL_ALERT_PAID_PERCENT
    alert = ""
    enough = handed >= settings.FUNNEL_ALERT_MIN_HANDOVERS
    if paid_percent is not None and enough and paid_percent < threshold:
        alert = (
            f"Paid / handed to Stripe is {paid_percent} % since {recent.since:%H}:00 UTC, "
            f"below the {threshold} % alert threshold: check the Stripe webhooks and "
            "/readyz, then open an incident if shoppers cannot pay."
        )
    return FunnelSummary(
        [recent, day], paid_percent, threshold, settings.FUNNEL_ALERT_MIN_HANDOVERS, alert
    )


# Webhook events and orders ------------------------------------------------------------


# Where an event's object carries the order's public id (payments' handover).
ORDER_REFERENCE_PATHS = ("client_reference_id", "metadata__order_id")


def webhook_events_search(events: QuerySet[StripeEvent], *, query: str) -> QuerySet[StripeEvent]:
    """`events` about the order numbered or emailed `query`, or carrying the
    Stripe id `query` (the event's, or its object's: session, payment intent)."""
    query = query.strip()
    orders = Order.objects.filter(Q(number__iexact=query) | Q(email__iexact=query))
    order_ids = [str(public_id) for public_id in orders.values_list("public_id", flat=True)[:200]]
    return events.filter(
        Q(stripe_id=query)
        | Q(payload__data__object__id=query)
        | Q(payload__data__object__payment_intent=query)
        | Q.create(
            [(f"payload__data__object__{path}__in", order_ids) for path in ORDER_REFERENCE_PATHS],
            connector=Q.OR,
        )
    )


def webhook_event_order(*, reference: str | None) -> Order | None:
    """The order a webhook event is about, from the reference RDK gave Stripe
    (`payments.selectors.event_reference`)."""
    if reference is None:
        return None
    try:
        return Order.objects.filter(public_id=uuid.UUID(str(reference))).first()
    except ValueError:
        return None
