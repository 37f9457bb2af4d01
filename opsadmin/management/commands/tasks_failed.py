from django.core.management.base import BaseCommand, CommandError

from opsadmin.exceptions import JobError
from opsadmin.management.commands._common import operator
from opsadmin.selectors import job_list
from opsadmin.services import jobs as service


class Command(BaseCommand):
    help = (
        "List background tasks that failed (after their retries); --retry ID or --retry-all "
        "queues them again (audited). Exits 1 when failed tasks remain."
    )

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--retry", metavar="ID", help="Queue the failed task ID again.")
        group.add_argument("--retry-all", action="store_true", help="Queue every failed task.")

    def handle(self, *args, retry: str | None, retry_all: bool, **options) -> None:
        actor = operator("tasks_failed")
        try:
            if retry:
                job = service.job_retry(task_id=retry, actor=actor)
                self.stdout.write(f"{job.task_name} {job.id} queued again.")
                return
            if retry_all:
                count = service.job_retry_failed(actor=actor)
                self.stdout.write(f"{count} failed task(s) queued again.")
                return
        except JobError as exc:
            raise CommandError(str(exc)) from None
        failed = job_list(status="FAILED", limit=1000)
        for job in failed:
            error = job.traceback.strip().splitlines()[-1] if job.traceback.strip() else "-"
            self.stdout.write(
                f"{job.id}  {job.task_name:<30} attempts {len(job.worker_ids)}  "
                f"failed {job.finished_at:%Y-%m-%d %H:%M}Z  {error[:120]}"
            )
        if failed:
            raise CommandError(
                f"{len(failed)} failed task(s); retry with --retry ID or --retry-all."
            )
        self.stdout.write("No failed task.")
