from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from opsadmin.management.commands._common import operator
from opsadmin.selectors import incident_get
from opsadmin.services.incidents import incident_export


class Command(BaseCommand):
    help = (
        "Write an incident (root cause, fix, follow-ups, timeline) to YYYY-MM-DD.md in "
        "docs/incidents/ (INCIDENT_EXPORT_DIR) or the folder given with --dir."
    )

    def add_arguments(self, parser):
        parser.add_argument("id", help="Incident number or public id.")
        parser.add_argument(
            "--dir",
            type=Path,
            default=None,
            help=f"Folder to write into (default: {settings.INCIDENT_EXPORT_DIR}).",
        )

    def handle(self, *args, id: str, dir: Path | None, **options):
        incident = incident_get(key=id)
        if incident is None:
            raise CommandError(f"No incident {id!r}.")
        if dir is not None and dir.exists() and not dir.is_dir():
            raise CommandError(f"--dir {dir}: not a folder.")
        try:
            path = incident_export(incident=incident, actor=operator("incident_export"), folder=dir)
        except OSError as exc:
            raise CommandError(f"Could not write the incident: {exc.strerror} ({dir}).") from exc
        self.stdout.write(self.style.SUCCESS(f"Incident #{incident.pk} written to {path}."))
