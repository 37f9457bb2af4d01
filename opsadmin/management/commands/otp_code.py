from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from opsadmin.management.commands._common import user_or_error
from opsadmin.services.otp import totp_device_for, totp_now


class Command(BaseCommand):
    help = "Print a user's current TOTP code. Local development only (RDK_ENV=local)."

    def add_arguments(self, parser):
        parser.add_argument("user", help="Username or email.")

    def handle(self, *args, user: str, **options):
        if settings.RDK_ENV != "local":
            raise CommandError(
                f"otp_code is refused in {settings.RDK_ENV}: it defeats the second factor."
            )
        device = totp_device_for(user_or_error(user))
        if device is None:
            raise CommandError(f"{user} has no confirmed authenticator; run otp_enroll first.")
        self.stdout.write(totp_now(device))
