from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from opsadmin import selectors
from opsadmin.exceptions import SnapshotError
from opsadmin.models import SnapshotCheck
from opsadmin.services import snapshots as service
from opsadmin.views.common import actor, render_ops


@require_http_methods(["GET", "POST"])
def snapshot_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "create":
                snapshot = service.snapshot_create(actor=actor(request))
                messages.success(request, f"Snapshot {snapshot.file_name} written.")
            elif action == "verify":
                check = service.snapshot_verify(actor=actor(request))
                _report(request, "Verify", check)
            elif action == "restore_check":
                check = service.snapshot_restore_check(actor=actor(request))
                _report(request, "Restore check", check)
            else:
                messages.error(request, "Unknown action.")
        except SnapshotError as exc:
            messages.error(request, str(exc))
        return redirect("admin:ops_snapshots")
    K = SnapshotCheck.Kind
    return render_ops(
        request,
        "opsadmin/snapshots.html",
        {
            "title": "Snapshots",
            "snapshots": selectors.snapshot_list(),
            "last_verify_ok": selectors.snapshot_check_last(K.VERIFY, ok=True),
            "last_restore_ok": selectors.snapshot_check_last(K.RESTORE_CHECK, ok=True),
            "last_verify": selectors.snapshot_check_last(K.VERIFY),
            "last_restore": selectors.snapshot_check_last(K.RESTORE_CHECK),
            "checks": selectors.snapshot_checks_recent(),
            "now": timezone.now(),
        },
    )


def _report(request: HttpRequest, label: str, check: SnapshotCheck) -> None:
    if check.ok:
        messages.success(request, f"{label} passed in {check.duration_ms} ms.")
    else:
        messages.error(request, f"{label} FAILED: " + " ".join(check.problems))
