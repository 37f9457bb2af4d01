from django.core.management.base import BaseCommand, CommandError

from opsadmin.management.commands._common import operator
from rdk.cache import per_process_cache_warning
from rdk.exceptions import RdkError
from rdk.switches import SWITCHES, switch_set, switch_states


class Command(BaseCommand):
    help = (
        "List runtime switches, or turn one on or off (feature flags, maintenance, cache bypass)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "on", "off"])
        parser.add_argument("name", nargs="?", help="Switch name, e.g. maintenance.checkout.")
        parser.add_argument("--reason", default="", help="Why (required for on/off).")

    def handle(self, *args, action: str, name: str | None, reason: str, **options):
        if action == "list":
            states = switch_states()
            for spec in SWITCHES.values():
                state = "on " if states[spec.name] else "off"
                marker = "" if states[spec.name] == spec.default else "  (changed from default)"
                self.stdout.write(f"{state}  {spec.name:<22} {spec.label}{marker}")
            return
        if not name:
            raise CommandError(f"Name the switch to turn {action}: one of {', '.join(SWITCHES)}.")
        if not reason.strip():
            raise CommandError("Give a --reason; it goes into the audit log.")
        try:
            switch_set(name=name, on=action == "on", actor=operator("switch"), reason=reason)
        except RdkError as exc:
            raise CommandError(str(exc)) from None
        if warning := per_process_cache_warning("the switch changed"):
            self.stdout.write(self.style.SUCCESS(f"{name} is {action}."))
            self.stderr.write(self.style.WARNING(warning))
            return
        self.stdout.write(
            self.style.SUCCESS(f"{name} is {action} in every process within a second.")
        )
