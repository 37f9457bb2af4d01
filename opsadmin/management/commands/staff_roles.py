from django.core.management.base import BaseCommand, CommandError

from opsadmin.permissions import ROLES
from opsadmin.services.roles import roles_sync


class Command(BaseCommand):
    help = (
        "Create or correct the staff role groups (Support, Fulfilment, Catalog, Operations, "
        "Owner) so each holds exactly its permissions. Idempotent; `migrate` runs it too. "
        "Grant a role by adding a user to its group (docs/ops-console.md)."
    )

    def handle(self, *args, **options):
        try:
            counts = roles_sync()
        except LookupError as exc:
            raise CommandError(f"{exc}. Run `manage.py migrate` first.") from None
        for role in ROLES:
            self.stdout.write(f"  {role}: {counts[role]} permission(s)")
        self.stdout.write(self.style.SUCCESS(f"{len(counts)} staff roles are up to date."))
