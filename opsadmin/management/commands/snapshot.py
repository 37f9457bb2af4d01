import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.timesince import timesince

from opsadmin.exceptions import SnapshotError
from opsadmin.management.commands._common import operator
from opsadmin.selectors import snapshot_by_name, snapshot_list
from opsadmin.services import snapshots as service


class Command(BaseCommand):
    help = (
        "Database snapshots (RUNBOOK §5): create, list, verify, restore-check, and "
        "`restore SNAPSHOT --into DATABASE_URL` (a PostgreSQL database other than the live "
        "one, empty unless --force; integrity checks and rls_audit run there)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action", choices=["create", "list", "verify", "restore-check", "restore"]
        )
        parser.add_argument(
            "snapshot",
            nargs="?",
            help="restore: the snapshot's file name (see `snapshot list`), or 'latest'.",
        )
        parser.add_argument(
            "--max-age-hours", type=int, default=None, help="verify: stale beyond (default 26)."
        )
        parser.add_argument(
            "--into", metavar="DATABASE_URL", help="restore: the PostgreSQL database to fill."
        )
        parser.add_argument(
            "--media-root",
            metavar="DIR",
            help="restore: where the uploads go (default: media-<database> in SNAPSHOT_DIR).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="restore: replace what the target database and media folder already hold.",
        )

    def handle(self, *args, action: str, max_age_hours: int | None, **options):
        self.started = time.perf_counter()
        actor = operator(f"snapshot {action}")
        try:
            if action == "list":
                return self._list()
            if action == "restore":
                return self._restore(actor=actor, **options)
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

    def _restore(self, *, actor: str, snapshot, into, media_root, force, **options) -> None:
        if not snapshot or not into:
            raise CommandError("Usage: snapshot restore SNAPSHOT --into DATABASE_URL [--force].")
        chosen = snapshot_by_name(snapshot)
        if chosen is None:
            raise CommandError(f"No snapshot named {snapshot!r}: see `snapshot list`.")
        result = service.snapshot_restore(
            snapshot=chosen,
            into=into,
            actor=actor,
            force=force,
            media_root=media_root,
            progress=self._progress,
        )
        check = result.check
        for audit in result.rls:
            state = "FAIL" if audit.problems else "ok  "
            policies = ",".join(audit.policies) or "-"
            self.stdout.write(f"  rls_audit {state} {audit.table} policies={policies}")
        if not check.ok:
            for problem in check.problems:
                self.stderr.write(f"  - {problem}")
            raise CommandError(
                f"Restore of {chosen.file_name} into {result.database_url} FAILED in "
                f"{check.duration_ms} ms: do not re-point anything at it."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {chosen.file_name} into {result.database_url} "
                f"in {check.duration_ms} ms: "
                f"{len(check.details.get('checks', {}))} integrity check(s) and rls_audit passed, "
                f"{result.media_files} uploaded file(s) in {result.media_root}."
            )
        )
        self.stdout.write("Re-point the isolated instance (RUNBOOK §5.2 steps 3-4):")
        for line in result.repoint():
            self.stdout.write(f"  {line}")

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
