"""Incidents: the status pipeline, SLA clocks, runbook messages, export."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from opsadmin import selectors
from opsadmin.exceptions import IncidentError, IncidentTransitionRefused
from opsadmin.models import AuditEntry, IncidentStatus
from opsadmin.services import incidents as service

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.INCIDENT_EXPORT_DIR = str(tmp_path / "incidents")
    return tmp_path / "incidents"


def open_incident(**overrides):
    data = {
        "title": "Checkout Down",
        "severity": "P0",
        "impact": "Checkout 500 during session creation",
        "trigger_source": "sentry",
        "actor": "ops",
        "request_ids": ["req-1", "req-2", "req-1"],
        "stripe_event_ids": ["evt_123"],
    }
    return service.incident_create(**{**data, **overrides})


def test_status_pipeline_is_enforced():
    incident = open_incident()
    assert incident.request_ids == ["req-1", "req-2"]
    service.incident_update(
        incident=incident, status="identified", note="secret mismatch", actor="ops"
    )
    service.incident_update(incident=incident, status="monitoring", note="rotated", actor="ops")
    with pytest.raises(IncidentError, match="root cause"):
        service.incident_update(incident=incident, status="resolved", note="", actor="ops")
    service.incident_postmortem_set(
        incident=incident, actor="ops", root_cause="secret rotated", fix="", follow_ups=""
    )
    service.incident_update(incident=incident, status="resolved", note="", actor="ops")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolved_at is not None
    with pytest.raises(IncidentTransitionRefused):
        service.incident_update(incident=incident, status="investigating", note="", actor="ops")
    assert [u.status_to for u in incident.updates.all()] == [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    ]
    assert AuditEntry.objects.filter(action="incident.update").count() == 3


def test_bad_input_is_refused():
    with pytest.raises(IncidentError):
        open_incident(severity="P9")
    with pytest.raises(IncidentError):
        open_incident(started_at=timezone.now() + dt.timedelta(hours=1))
    incident = open_incident()
    with pytest.raises(IncidentError):
        service.incident_update(incident=incident, status="investigating", note="", actor="ops")


def test_sla_clocks_follow_the_runbook_table():
    start = timezone.now() - dt.timedelta(minutes=20)
    incident = open_incident(started_at=start)
    respond, resolve = selectors.incident_clocks(incident, now=start + dt.timedelta(minutes=20))
    assert respond.deadline == start + dt.timedelta(minutes=15)
    assert respond.state == "breached"
    assert respond.text == "overdue by 5m 00s"
    assert resolve.deadline == start + dt.timedelta(hours=2)
    assert resolve.state == "running"
    p3 = open_incident(severity="P3", started_at=start)
    (only,) = selectors.incident_clocks(p3, now=start)
    assert only.deadline == start + dt.timedelta(hours=48)
    service.incident_update(incident=incident, status="identified", note="found it", actor="ops")
    incident.refresh_from_db()
    respond, _ = selectors.incident_clocks(incident)
    assert respond.state == "missed"


def test_runbook_messages_are_filled_in():
    incident = open_incident(started_at=dt.datetime(2026, 11, 26, 9, 5, tzinfo=dt.UTC))
    assert selectors.incident_start_message(incident) == (
        "[Incident] P0 — Checkout Down\n"
        "Start: 2026-11-26 09:05 UTC\n"
        "Impact: Checkout 500 during session creation\n"
        "Status: Investigating\n"
        "Next Update: 15 min\n"
    )
    service.incident_postmortem_set(
        incident=incident,
        actor="ops",
        root_cause="Stripe secret mismatch",
        fix="Rotated key + redeployed",
        follow_ups="Add env validator rule",
    )
    assert selectors.incident_resolution_message(incident) == (
        f"[Resolved] Incident #{incident.pk}\n"
        "Root Cause: Stripe secret mismatch\n"
        "Fix: Rotated key + redeployed\n"
        "Follow-Up: Add env validator rule\n"
    )


def test_export_writes_the_day_file_and_a_second_incident_gets_its_own(export_dir):
    day = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    first = open_incident(started_at=day)
    service.incident_postmortem_set(
        incident=first, actor="ops", root_cause="cause", fix="fix", follow_ups="- add a test"
    )
    path = service.incident_export(incident=first, actor="ops")
    assert path == export_dir / "2026-11-20.md"
    text = path.read_text()
    for part in (
        "# Incident #",
        "## Root cause",
        "cause",
        "## Fix",
        "## Follow-ups",
        "## Timeline",
        "`evt_123`",
        "| Investigating |",
    ):
        assert part in text
    assert service.incident_export(incident=first, actor="ops") == path  # same file again
    second = open_incident(started_at=day + dt.timedelta(hours=2), title="Slow catalog")
    call_command("incident_export", str(second.pk))
    assert (export_dir / "2026-11-20-2.md").exists()


def test_the_export_command_writes_into_the_folder_it_is_given(export_dir, tmp_path):
    incident = open_incident(started_at=dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC))
    elsewhere = tmp_path / "postmortems"
    call_command("incident_export", str(incident.pk), "--dir", str(elsewhere))
    assert (elsewhere / "2026-11-21.md").exists()
    assert list(export_dir.glob("*.md")) == []
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(CommandError, match="not a folder"):
        call_command("incident_export", str(incident.pk), "--dir", str(a_file))
    with pytest.raises(CommandError):
        call_command("incident_export", "99999")


def test_incident_pages(ops_client, export_dir):
    response = ops_client.post(
        reverse("admin:ops_incident_new"),
        {
            "title": "Login broken",
            "severity": "P0",
            "impact": "Nobody can sign in",
            "trigger_source": "readyz",
            "request_ids": "abc-1, abc-2",
            "stripe_event_ids": "",
        },
    )
    assert response.status_code == 302
    page = ops_client.get(response["Location"])
    assert page.status_code == 200
    assert b"[Incident] P0 \xe2\x80\x94 Login broken" in page.content
    assert b"data-deadline" in page.content
    bad = ops_client.post(reverse("admin:ops_incident_new"), {"title": "x", "severity": "P7"})
    assert bad.status_code == 400
    bad_ids = ops_client.post(
        reverse("admin:ops_incident_new"),
        {
            "title": "x",
            "severity": "P1",
            "impact": "y",
            "trigger_source": "logs",
            "request_ids": "a;b",
        },
    )
    assert bad_ids.status_code == 400
    url = response["Location"]
    resolve = {"action": "update", "status": "resolved", "note": "done"}
    no_cause = ops_client.post(url, resolve)
    assert no_cause.status_code == 400
    assert "before resolving" in no_cause.content.decode()
    postmortem = {"action": "postmortem", "root_cause": "expired cert", "fix": "renewed"}
    assert ops_client.post(url, {**postmortem, "follow_ups": "alert"}).status_code == 302
    assert ops_client.post(url, resolve).status_code == 302
    refused = ops_client.post(url, {"action": "update", "status": "investigating", "note": "again"})
    assert refused.status_code == 400
    download = ops_client.post(url, {"action": "export"})
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/markdown")
    assert download["Content-Disposition"].startswith('attachment; filename="')
    assert "expired cert" in download.content.decode()
    assert list(export_dir.glob("*.md")) == []  # nothing written on the web host
    assert AuditEntry.objects.filter(action="incident.download").exists()
    assert ops_client.get(reverse("admin:ops_incidents") + "?status=all").status_code == 200
    missing = reverse(
        "admin:ops_incident_detail", kwargs={"public_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert ops_client.get(missing).status_code == 404


def test_incident_commands(capsys):
    call_command(
        "incident_create",
        "--title",
        "Webhooks failing",
        "--severity",
        "P1",
        "--impact",
        "Orders stay pending",
        "--trigger",
        "stripe",
        "--stripe-event",
        "evt_9",
    )
    out = capsys.readouterr().out
    assert "[Incident] P1 — Webhooks failing" in out
    number = out.split("#")[1].split()[0]
    call_command(
        "incident_update",
        number,
        "--status",
        "resolved",
        "--note",
        "replayed",
        "--root-cause",
        "secret rotated",
        "--fix",
        "replayed events",
        "--follow-ups",
        "alert",
    )
    out = capsys.readouterr().out
    assert "[Resolved] Incident #" in out
    assert "Root Cause: secret rotated" in out
    call_command("incident_list", "--all")
    assert "Webhooks failing" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("incident_update", number, "--status", "investigating")
