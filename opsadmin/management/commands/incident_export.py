from django.core.management.base import BaseCommand, CommandError

from opsadmin.management.commands._common import operator
from opsadmin.selectors import incident_get
from opsadmin.services.incidents import incident_export


class Command(BaseCommand):
    help = (
        "Write an incident to docs/incidents/YYYY-MM-DD.md (root cause, fix, follow-ups, timeline)."
    )

    def add_arguments(self, parser):
        parser.add_argument("id", help="Incident number or public id.")

    def handle(self, *args, id: str, **options):
        incident = incident_get(key=id)
        if incident is None:
            raise CommandError(f"No incident {id!r}.")
        path = incident_export(incident=incident, actor=operator("incident_export"))
        self.stdout.write(self.style.SUCCESS(f"Incident #{incident.pk} written to {path}."))
