from django.core.management.base import BaseCommand, CommandError

from opsadmin.exceptions import OpsError
from opsadmin.management.commands._common import operator, user_or_error
from opsadmin.services.sessions import Scope, sessions_rotate
from rdk.cache import per_process_cache_warning


class Command(BaseCommand):
    help = "Sign out one user, all staff or everyone, on their next request (RUNBOOK §7)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--user", help="Username or email.")
        group.add_argument("--staff", action="store_true", help="Every staff user.")
        group.add_argument("--all", action="store_true", help="Everyone, shoppers included.")
        parser.add_argument("--reason", default="")

    def handle(self, *args, user, staff, all, reason, **options):
        user_id = None
        scope: Scope
        if user:
            scope, user_id = "user", user_or_error(user).pk
        else:
            scope = "staff" if staff else "all"
        try:
            ended = sessions_rotate(
                scope=scope, user_id=user_id, actor=operator("sessions_rotate"), reason=reason
            )
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        who = user or ("all staff" if staff else "everyone")
        self.stdout.write(
            self.style.SUCCESS(
                f"Signed out {who} on their next request ({ended} recorded session(s))."
            )
        )
        if warning := per_process_cache_warning("the sign-out was recorded"):
            self.stderr.write(self.style.WARNING(warning))
