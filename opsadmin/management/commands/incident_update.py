from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from opsadmin.exceptions import IncidentError
from opsadmin.management.commands._common import operator
from opsadmin.models import IncidentStatus
from opsadmin.selectors import incident_get, incident_resolution_message
from opsadmin.services.incidents import incident_postmortem_set, incident_update


class Command(BaseCommand):
    help = "Post an incident update (status and/or note), and record root cause, fix, follow-ups."

    def add_arguments(self, parser):
        parser.add_argument("id", help="Incident number or public id.")
        parser.add_argument("--status", choices=IncidentStatus.values)
        parser.add_argument("--note", default="")
        parser.add_argument("--root-cause")
        parser.add_argument("--fix")
        parser.add_argument("--follow-ups")

    def handle(self, *args, **o):
        incident = incident_get(key=o["id"])
        if incident is None:
            raise CommandError(f"No incident {o['id']!r}.")
        actor = operator("incident_update")
        try:
            # The post-mortem first: resolving needs the root cause, which may
            # come in this same command. One transaction: all of it or nothing.
            with transaction.atomic():
                if any(o[k] is not None for k in ("root_cause", "fix", "follow_ups")):
                    incident_postmortem_set(
                        incident=incident,
                        actor=actor,
                        root_cause=o["root_cause"]
                        if o["root_cause"] is not None
                        else incident.root_cause,
                        fix=o["fix"] if o["fix"] is not None else incident.fix,
                        follow_ups=o["follow_ups"]
                        if o["follow_ups"] is not None
                        else incident.follow_ups,
                        request_ids=incident.request_ids,
                        stripe_event_ids=incident.stripe_event_ids,
                    )
                if o["status"] or o["note"]:
                    incident.refresh_from_db()
                    incident_update(
                        incident=incident,
                        status=o["status"] or incident.status,
                        note=o["note"],
                        actor=actor,
                    )
        except IncidentError as exc:
            raise CommandError(str(exc)) from None
        incident.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(f"Incident #{incident.pk} is {incident.get_status_display()}.")
        )
        if incident.status == IncidentStatus.RESOLVED:
            self.stdout.write(incident_resolution_message(incident))
