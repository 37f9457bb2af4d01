"""The ops pages for a verified staff user: each renders; each action is audited."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.tasks.base import TaskResultStatus
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from opsadmin.models import AuditEntry
from rdk.cachetags import revalidation_log, tag_versions
from rdk.switches import switch_is_on
from tests.catalog.factories import ProductFactory
from tests.jobs import drain_tasks
from tests.rdk.jobs_tasks import broken

pytestmark = pytest.mark.django_db

PAGES = [
    "admin:ops_home",
    "admin:ops_switches",
    "admin:ops_sessions",
    "admin:ops_incidents",
    "admin:ops_incident_new",
    "admin:ops_snapshots",
    "admin:ops_cache",
    "admin:ops_jobs",
    "admin:ops_slow_queries",
    "admin:ops_webhooks",
    "admin:ops_webhooks_replay_failed",
    "admin:opsadmin_auditentry_changelist",
    "admin:index",
]


@pytest.mark.parametrize("name", PAGES)
def test_each_page_renders_in_the_admin(ops_client, name, django_assert_max_num_queries):
    # The ops home reads every checklist source plus the funnel (one query).
    with django_assert_max_num_queries(35):
        response = ops_client.get(reverse(name))
    assert response.status_code == 200
    assert b"Real Deal Kickz \xc2\xb7 staff" in response.content
    assert b"admin/css/base.css" in response.content


def test_admin_index_links_the_ops_console(ops_client):
    content = ops_client.get(reverse("admin:index")).content.decode()
    assert "Ops console" in content
    for name in (
        "ops_home",
        "ops_switches",
        "ops_sessions",
        "ops_incidents",
        "ops_snapshots",
        "ops_cache",
        "ops_jobs",
        "ops_webhooks",
    ):
        assert reverse(f"admin:{name}") in content


def test_switch_toggle_needs_reason_and_confirmation_and_is_audited(
    ops_client, django_capture_on_commit_callbacks
):
    url = reverse("admin:ops_switches")
    refused = ops_client.post(url, {"name": "feature.checkout", "on": "0", "reason": "x"})
    assert refused.status_code == 400
    assert (
        ops_client.post(
            url, {"name": "feature.nope", "on": "0", "reason": "x", "confirm": "on"}
        ).status_code
        == 400
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(
            url,
            {"name": "feature.checkout", "on": "0", "reason": "incident #3", "confirm": "on"},
            HTTP_X_REQUEST_ID="req-switch-1",
        )
    assert response.status_code == 302
    assert switch_is_on("feature.checkout") is False
    entry = AuditEntry.objects.get(action="switch.set")
    assert (entry.actor, entry.target, entry.outcome) == ("ops", "feature.checkout", "off")
    assert (entry.request_id, entry.ip) == ("req-switch-1", "127.0.0.1")
    assert entry.details == {"reason": "incident #3"}
    page = ops_client.get(url).content.decode()
    assert "incident #3" in page


def test_cache_revalidation_from_the_console(ops_client, django_capture_on_commit_callbacks):
    url = reverse("admin:ops_cache")
    tag = ProductFactory().cache_tag
    before = tag_versions([tag, "catalog"])
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(url, {"tags": f"{tag}, catalog", "reason": "stale price"})
    assert response.status_code == 302
    after = tag_versions([tag, "catalog"])
    assert all(after[tag] != version for tag, version in before.items())
    assert revalidation_log()[0]["tags"] == [tag, "catalog"]
    assert AuditEntry.objects.filter(action="cache.revalidate", target=f"{tag} catalog").exists()
    page = ops_client.get(url).content.decode()
    assert "stale price" in page
    assert ops_client.post(url, {"tags": "product:abc; drop", "reason": "x"}).status_code == 400
    # A typo or a product that does not exist: refused, and never shown as a tag.
    for unknown, message in (
        ("catalgo", "Not a cache tag"),
        ("product:999999", "No such cache tag"),
    ):
        refused = ops_client.post(url, {"tags": unknown, "reason": "typo"})
        assert refused.status_code == 400
        assert message in refused.content.decode()
        assert unknown not in ops_client.get(url).content.decode()


def test_audit_log_is_read_only(ops_client):
    call_command("switch", "on", "cache.force_dynamic", "--reason", "test")
    entry = AuditEntry.objects.latest("id")
    change = reverse("admin:opsadmin_auditentry_change", args=[entry.pk])
    response = ops_client.get(change)
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert ops_client.get(reverse("admin:opsadmin_auditentry_add")).status_code == 403
    listing = ops_client.get(
        reverse("admin:opsadmin_auditentry_changelist") + "?action=switch.set&outcome=on"
    )
    assert listing.status_code == 200
    assert b"cache.force_dynamic" in listing.content


def test_snapshot_page_shows_failures_prominently(ops_client, settings, tmp_path):
    settings.SNAPSHOT_DIR = str(tmp_path)
    response = ops_client.post(reverse("admin:ops_snapshots"), {"action": "verify"})
    assert response.status_code == 302
    page = ops_client.get(reverse("admin:ops_snapshots")).content.decode()
    assert "Last verify FAILED" in page
    assert "No snapshot has been taken yet." in page


def test_switch_command(capsys):
    call_command("switch", "list")
    assert "maintenance.checkout" in capsys.readouterr().out
    with pytest.raises(CommandError, match="reason"):
        call_command("switch", "on", "maintenance.checkout")
    with pytest.raises(CommandError, match="No switch"):
        call_command("switch", "on", "feature.teleport", "--reason", "x")
    call_command("switch", "on", "maintenance.checkout", "--reason", "incident #4")
    assert AuditEntry.objects.get(action="switch.set").target == "maintenance.checkout"


def test_otp_enroll_prints_a_terminal_qr_and_backup_codes(capsys, staff):
    call_command("otp_enroll", "ops")
    out = capsys.readouterr().out
    assert "otpauth://totp/Real%20Deal%20Kickz%3Aops" in out
    assert "█" in out or "▀" in out or "▄" in out  # the QR, drawn with block characters
    assert out.count("\n  ") >= 10
    with pytest.raises(CommandError):
        call_command("otp_enroll", "nobody")


def test_otp_code_is_local_only(capsys, staff, settings):
    call_command("otp_code", "ops")
    assert capsys.readouterr().out.strip() == staff.code()
    settings.RDK_ENV = "staging"
    with pytest.raises(CommandError, match="refused"):
        call_command("otp_code", "ops")
    with pytest.raises(CommandError, match="refused"):
        call_command("demo_admin")


def test_demo_admin_creates_a_staff_user_who_can_sign_in(client, capsys):
    call_command("demo_admin")
    out = capsys.readouterr().out
    assert "username demo-admin" in out
    call_command("demo_admin")  # idempotent
    from django.contrib.auth import get_user_model

    from opsadmin.services.otp import totp_device_for, totp_now

    user = get_user_model().objects.get(username="demo-admin")
    response = client.post(
        reverse("admin:login"),
        {
            "login": "demo-admin",
            "password": "rdk-demo-admin-local",
            "code": totp_now(totp_device_for(user)),
        },
    )
    assert response.status_code == 302


def test_jobs_page_retries_a_failed_task_and_audits_it(ops_client):
    result = broken.enqueue()
    drain_tasks()
    url = reverse("admin:ops_jobs")
    page = ops_client.get(url + "?status=failed").content.decode()
    assert "builtins.ValueError" in page
    assert str(result.id) in page
    response = ops_client.post(url, {"action": "retry", "task_id": result.id})
    assert response.status_code == 302
    assert DBTaskResult.objects.get(id=result.id).status == TaskResultStatus.READY
    entry = AuditEntry.objects.get(action="job.retry")
    assert entry.actor == ops_client.staff.user.username
    refused = ops_client.post(url, {"action": "retry", "task_id": result.id}, follow=True)
    assert "only failed tasks" in refused.content.decode()


def test_jobs_page_runs_a_scheduled_task_now(ops_client):
    url = reverse("admin:ops_jobs")
    ops_client.post(url, {"action": "run_now", "name": "clearsessions"})
    assert DBTaskResult.objects.filter(task_path="rdk.tasks.clearsessions").count() == 1
    assert AuditEntry.objects.filter(action="job.run_now").exists()


def test_the_sidebar_marks_only_the_open_ops_page_as_current(ops_client):
    """The ops home's URL starts every ops page's: it was marked current (and
    aria-current) on all of them, beside the page really open."""
    home, jobs = reverse("admin:ops_home"), reverse("admin:ops_jobs")
    on_jobs = ops_client.get(jobs).text
    assert f'<a href="{jobs}" aria-current="page">' in on_jobs
    assert f'<a href="{home}" aria-current="page">' not in on_jobs
    on_home = ops_client.get(home).text
    assert f'<a href="{home}" aria-current="page">' in on_home
    assert f'<a href="{jobs}" aria-current="page">' not in on_home
    orders = reverse("admin:orders_order_changelist")
    assert f'<a href="{orders}" aria-current="page">' in ops_client.get(orders).text
