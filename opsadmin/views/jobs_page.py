from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from opsadmin.exceptions import JobError
from opsadmin.jobshealth import duration_text, jobs_health
from opsadmin.selectors import JOB_STATUSES, job_list
from opsadmin.services import jobs as service
from opsadmin.views.common import actor, render_ops
from rdk.clientip import client_ip_for_records


@require_http_methods(["GET", "POST"])
def job_page(request: HttpRequest) -> HttpResponse:
    """The task queue: waiting, running, failed and done tasks; retry a failed
    one (or all), run a scheduled task now."""
    if request.method == "POST":
        who, ip = actor(request), client_ip_for_records(request) or ""
        action = request.POST.get("action")
        try:
            if action == "retry":
                job = service.job_retry(task_id=request.POST.get("task_id", ""), actor=who, ip=ip)
                messages.success(request, f"{job.task_name} is queued again.")
            elif action == "retry_failed":
                count = service.job_retry_failed(actor=who, ip=ip)
                messages.success(request, f"{count} failed task(s) queued again.")
            elif action == "run_now":
                service.job_run_now(name=request.POST.get("name", ""), actor=who, ip=ip)
                messages.success(request, f"{request.POST['name']} is queued.")
            else:
                messages.error(request, "Unknown action.")
        except JobError as exc:
            messages.error(request, str(exc))
        return redirect("admin:ops_jobs")
    status = request.GET.get("status", "").upper()
    if status not in JOB_STATUSES:
        status = ""
    health = jobs_health()
    return render_ops(
        request,
        "opsadmin/jobs.html",
        {
            "title": "Jobs",
            "health": health,
            "oldest_due": duration_text(health.tasks["oldest_due_age_seconds"]),
            "oldest_running": duration_text(health.tasks["oldest_running_age_seconds"]),
            "schedule": [
                {
                    **row,
                    "last_success": duration_text(row["last_success_age_seconds"]),
                    "late_after": duration_text(row["max_age_seconds"]),
                }
                for row in health.schedule
            ],
            "jobs": job_list(status=status),
            "status": status,
            "statuses": JOB_STATUSES,
            "now": timezone.now(),
        },
    )
