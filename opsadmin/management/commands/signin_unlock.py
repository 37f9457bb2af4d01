from django.core.management.base import BaseCommand

from opsadmin.management.commands._common import operator, user_or_error
from opsadmin.services.otp import signin_limits_clear


class Command(BaseCommand):
    help = (
        "Clear a locked-out account's sign-in limits: the per-account sign-in and code "
        "counters and its authenticator's throttle. Audited (signin.unlock)."
    )

    def add_arguments(self, parser):
        parser.add_argument("user", help="Username or email.")

    def handle(self, *args, user: str, **options):
        account = user_or_error(user)
        cleared = signin_limits_clear(user=account, actor=operator("signin_unlock"))
        self.stdout.write(
            self.style.SUCCESS(
                f"{account.get_username()}: {cleared} counter(s) or throttle(s) cleared; "
                "they may sign in again now."
            )
        )
