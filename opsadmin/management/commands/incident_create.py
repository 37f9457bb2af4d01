from django.core.management.base import BaseCommand, CommandError

from opsadmin.exceptions import IncidentError
from opsadmin.management.commands._common import operator
from opsadmin.models import Severity, TriggerSource
from opsadmin.selectors import incident_start_message
from opsadmin.services.incidents import incident_create


class Command(BaseCommand):
    help = "Open an incident (RUNBOOK §2) and print the §12 'Incident Start' message."

    def add_arguments(self, parser):
        parser.add_argument("--title", required=True)
        parser.add_argument("--severity", required=True, choices=Severity.values)
        parser.add_argument("--impact", required=True)
        parser.add_argument("--trigger", required=True, choices=TriggerSource.values)
        parser.add_argument("--request-id", action="append", default=[], dest="request_ids")
        parser.add_argument("--stripe-event", action="append", default=[], dest="stripe_event_ids")

    def handle(self, *args, **o):
        try:
            incident = incident_create(
                title=o["title"],
                severity=o["severity"],
                impact=o["impact"],
                trigger_source=o["trigger"],
                request_ids=o["request_ids"],
                stripe_event_ids=o["stripe_event_ids"],
                actor=operator("incident_create"),
            )
        except IncidentError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Incident #{incident.pk} opened.\n"))
        self.stdout.write(incident_start_message(incident))
