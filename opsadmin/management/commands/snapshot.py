import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.timesince import timesince

from opsadmin.exceptions import SnapshotError
from opsadmin.management.commands._common import operator
from opsadmin.selectors import snapshot_list
from opsadmin.services import snapshots as service


class Command(BaseCommand):
    help = "Database snapshots (RUNBOOK §5): create, list, verify, restore-check."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "verify", "restore-check"])
        parser.add_argument(
            "--max-age-hours", type=int, default=None, help="verify: stale beyond (default 26)."
        )

    def handle(self, *args, action: str, max_age_hours: int | None, **options):
        self.started = time.perf_counter()
        actor = operator(f"snapshot {action}")
        try:
            if action == "list":
                return self._list()
            if action == "create":
                snapshot = service.snapshot_create(actor=actor, progress=self._progress)
                counts = ", ".join(
                    f"{t} {'not present' if c is None else c}"
                    for t, c in snapshot.row_counts.items()
                )
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Snapshot {snapshot.file_name}: {snapshot.size_bytes} bytes, sha256 "
                        f"{snapshot.sha256[:16]}…, in {snapshot.duration_ms} ms. Rows: {counts}."
                    )
                )
                return None
            if action == "verify":
                check = service.snapshot_verify(
                    actor=actor, max_age_hours=max_age_hours, progress=self._progress
                )
            else:
                check = service.snapshot_restore_check(actor=actor, progress=self._progress)
        except SnapshotError as exc:
            raise CommandError(str(exc)) from None
        label = "Verify" if action == "verify" else "Restore check"
        if not check.ok:
            for problem in check.problems:
                self.stderr.write(f"  - {problem}")
            raise CommandError(f"{label} FAILED in {check.duration_ms} ms.")
        extra = ""
        if "checks" in check.details:
            extra = (
                f" Restore {check.details.get('restore_ms')} ms, "
                f"{len(check.details['checks'])} integrity check(s) passed, temporary copy dropped."
            )
        self.stdout.write(self.style.SUCCESS(f"{label} passed in {check.duration_ms} ms.{extra}"))
        return None

    def _progress(self, step: str) -> None:
        if sys.stderr.isatty():
            elapsed = time.perf_counter() - self.started
            self.stderr.write(f"  [{elapsed:6.1f}s] {step}")

    def _list(self) -> None:
        snapshots = snapshot_list()
        if not snapshots:
            self.stdout.write("No snapshot yet: run `manage.py snapshot create`.")
        for s in snapshots:
            self.stdout.write(
                f"{s.created_at:%Y-%m-%d %H:%M} UTC "
                f"({timesince(s.created_at, timezone.now())} ago)  "
                f"{s.file_name}  {s.size_bytes} bytes  sha256 {s.sha256[:12]}…"
            )
