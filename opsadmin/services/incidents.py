"""Incident records (RUNBOOK §2): create, move through the status pipeline,
write the post-mortem, export to docs/incidents/YYYY-MM-DD.md."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from opsadmin.exceptions import IncidentError, IncidentTransitionRefused
from opsadmin.models import Incident, IncidentStatus, IncidentUpdate, Severity, TriggerSource
from rdk.audit import audit_record

logger = logging.getLogger(__name__)

S = IncidentStatus
# The status pipeline, as data: Investigating → Identified → Monitoring → Resolved,
# with a way back to Investigating when a fix does not hold.
TRANSITIONS: dict[str, set[str]] = {
    S.INVESTIGATING: {S.IDENTIFIED, S.MONITORING, S.RESOLVED},
    S.IDENTIFIED: {S.MONITORING, S.RESOLVED, S.INVESTIGATING},
    S.MONITORING: {S.RESOLVED, S.INVESTIGATING},
    S.RESOLVED: set(),
}


def _clean_ids(values: list[str] | None) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values or [] if v and v.strip()))


@transaction.atomic
def incident_create(
    *,
    title: str,
    severity: str,
    impact: str,
    trigger_source: str,
    actor: str,
    started_at: datetime | None = None,
    request_ids: list[str] | None = None,
    stripe_event_ids: list[str] | None = None,
) -> Incident:
    if severity not in Severity.values:
        raise IncidentError(f"Severity must be one of {', '.join(Severity.values)}.")
    if trigger_source not in TriggerSource.values:
        raise IncidentError(f"Trigger source must be one of {', '.join(TriggerSource.values)}.")
    if not title.strip() or not impact.strip():
        raise IncidentError("An incident needs a title and an impact.")
    now = timezone.now()
    if started_at is not None and started_at > now:
        raise IncidentError("The start cannot be in the future.")
    incident = Incident.objects.create(
        title=title.strip(),
        severity=severity,
        impact=impact.strip(),
        trigger_source=trigger_source,
        started_at=started_at or now,
        request_ids=_clean_ids(request_ids),
        stripe_event_ids=_clean_ids(stripe_event_ids),
        created_by=actor,
    )
    IncidentUpdate.objects.create(
        incident=incident, status_to=S.INVESTIGATING, note="Incident opened.", author=actor
    )
    audit_record(
        action="incident.create", actor=actor, target=f"incident #{incident.pk}", severity=severity
    )
    return incident


@transaction.atomic
def incident_update(*, incident: Incident, status: str, note: str, actor: str) -> IncidentUpdate:
    """Post an update; a status change must follow TRANSITIONS. The first update
    stops the response clock, Resolved stops the resolution clock."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if status not in S.values:
        raise IncidentTransitionRefused(f"Unknown status {status!r}.")
    if status != incident.status and status not in TRANSITIONS[incident.status]:
        raise IncidentTransitionRefused(
            f"An incident that is {incident.get_status_display()} cannot move to {S(status).label}."
        )
    if status == incident.status and not note.strip():
        raise IncidentError("Write a note, or choose a new status.")
    if status == S.RESOLVED and status != incident.status and not incident.root_cause.strip():
        raise IncidentError(
            "Write the root cause (Root cause, fix, follow-ups) before resolving: "
            "an incident is not resolved until we know why it happened."
        )
    now = timezone.now()
    update = IncidentUpdate.objects.create(
        incident=incident,
        status_from=incident.status,
        status_to=status,
        note=note.strip(),
        author=actor,
    )
    fields = ["status"]
    incident.status = status
    if incident.responded_at is None:
        incident.responded_at = now
        fields.append("responded_at")
    if status == S.RESOLVED:
        incident.resolved_at = now
        fields.append("resolved_at")
    incident.save(update_fields=fields)
    audit_record(
        action="incident.update",
        actor=actor,
        target=f"incident #{incident.pk}",
        outcome=status,
        status_from=update.status_from,
    )
    return update


@transaction.atomic
def incident_postmortem_set(
    *,
    incident: Incident,
    actor: str,
    root_cause: str,
    fix: str,
    follow_ups: str,
    request_ids: list[str] | None = None,
    stripe_event_ids: list[str] | None = None,
) -> Incident:
    incident.root_cause, incident.fix, incident.follow_ups = (
        root_cause.strip(),
        fix.strip(),
        follow_ups.strip(),
    )
    if request_ids is not None:
        incident.request_ids = _clean_ids(request_ids)
    if stripe_event_ids is not None:
        incident.stripe_event_ids = _clean_ids(stripe_event_ids)
    incident.save(
        update_fields=["root_cause", "fix", "follow_ups", "request_ids", "stripe_event_ids"]
    )
    audit_record(action="incident.postmortem", actor=actor, target=f"incident #{incident.pk}")
    return incident


def incident_export_path(incident: Incident, folder: Path | None = None) -> Path:
    """<folder>/YYYY-MM-DD.md for the day the incident started (the folder:
    INCIDENT_EXPORT_DIR, docs/incidents/ by default); a second incident on the
    same day gets YYYY-MM-DD-2.md, and so on."""
    folder = Path(folder or settings.INCIDENT_EXPORT_DIR)
    if incident.exported_path:
        return folder / Path(incident.exported_path).name
    day = incident.started_at.astimezone(UTC).strftime("%Y-%m-%d")
    marker = f"<!-- rdk-incident: {incident.public_id} -->"
    number = 1
    while True:
        name = f"{day}.md" if number == 1 else f"{day}-{number}.md"
        candidate = folder / name
        if not candidate.exists() or marker in candidate.read_text(encoding="utf-8"):
            return candidate
        number += 1


def incident_export(*, incident: Incident, actor: str, folder: Path | None = None) -> Path:
    """Write the incident's markdown into `folder` (INCIDENT_EXPORT_DIR by
    default), for `manage.py incident_export` run in a checkout."""
    from opsadmin.selectors import incident_markdown

    path = incident_export_path(incident, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(incident_markdown(incident), encoding="utf-8")
    Incident.objects.filter(pk=incident.pk).update(exported_path=path.name)
    incident.exported_path = path.name
    audit_record(
        action="incident.export", actor=actor, target=f"incident #{incident.pk}", path=path.name
    )
    return path


def incident_download(*, incident: Incident, actor: str) -> tuple[str, str]:
    """The incident's markdown and a file name for it, for the console's
    download: a web host never writes into its own code checkout."""
    from opsadmin.selectors import incident_markdown

    day = incident.started_at.astimezone(UTC).strftime("%Y-%m-%d")
    name = incident.exported_path or f"{day}-incident-{incident.pk}.md"
    audit_record(
        action="incident.download", actor=actor, target=f"incident #{incident.pk}", path=name
    )
    return name, incident_markdown(incident)
