import segno
from django.core.management.base import BaseCommand

from opsadmin.management.commands._common import operator, user_or_error
from opsadmin.services.otp import otp_enrol_fresh


class Command(BaseCommand):
    help = (
        "Give a staff user a new authenticator and ten backup codes, printing the QR "
        "code in the terminal (bootstrap the first admin, or replace a lost phone)."
    )

    def add_arguments(self, parser):
        parser.add_argument("user", help="Username or email.")
        parser.add_argument("--no-qr", action="store_true", help="Print the URI only.")

    def handle(self, *args, user: str, no_qr: bool, **options):
        account = user_or_error(user)
        device, codes = otp_enrol_fresh(user=account, actor=operator("otp_enroll"))
        if not no_qr:
            segno.make(device.config_url, error="m").terminal(out=self.stdout, compact=True)
        self.stdout.write(
            f"\nAuthenticator URI for {account.get_username()}:\n  {device.config_url}\n"
        )
        self.stdout.write("\nBackup codes (shown once; each works once):\n")
        for code in codes:
            self.stdout.write(f"  {code}\n")
        if not account.is_staff:
            self.stderr.write(
                self.style.WARNING(
                    f"{account.get_username()} is not staff: the admin stays closed."
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"\n{account.get_username()}: old devices replaced; scan the code, then sign in."
            )
        )
