from django.core.management.base import BaseCommand

from opsadmin.selectors import incident_clocks, incident_list


class Command(BaseCommand):
    help = "List incidents with their SLA clocks (open ones by default)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Include resolved incidents.")

    def handle(self, *args, all: bool, **options):
        incidents = incident_list(status="all" if all else "open")[:100]
        for incident in incidents:
            clocks = "; ".join(f"{c.label} {c.text}" for c in incident_clocks(incident))
            self.stdout.write(
                f"#{incident.pk:<4} {incident.severity} {incident.get_status_display():<13} "
                f"{incident.title}  [{clocks}]"
            )
        if not incidents:
            self.stdout.write("No incident.")
