import segno
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from opsadmin.exceptions import EnrolmentError
from opsadmin.management.commands._common import operator, user_or_error
from opsadmin.services.otp import enrolment_link_issue, otp_enrol_fresh


class Command(BaseCommand):
    help = (
        "Give a staff user a new authenticator and ten backup codes, printing the QR "
        "code in the terminal (bootstrap the first admin, or replace a lost phone); or, with "
        "--link, issue a one-time enrolment link they open with their password."
    )

    def add_arguments(self, parser):
        parser.add_argument("user", help="Username or email.")
        parser.add_argument("--no-qr", action="store_true", help="Print the URI only.")
        parser.add_argument(
            "--link",
            action="store_true",
            help="Issue a one-time enrolment link (expires in OTP_ENROLMENT_LINK_HOURS) instead.",
        )

    def handle(self, *args, user: str, no_qr: bool, link: bool = False, **options):
        account = user_or_error(user)
        if link:
            try:
                token, issued = enrolment_link_issue(user=account, actor=operator("otp_enroll"))
            except EnrolmentError as exc:
                raise CommandError(str(exc)) from None
            path = reverse("admin:otp_enrol_link", kwargs={"token": token})
            self.stdout.write(f"{settings.SITE_URL}{path}\n")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Enrolment link for {account.get_username()}, valid once until "
                    f"{issued.expires_at:%Y-%m-%d %H:%M} UTC. Send it by a channel you trust."
                )
            )
            return
        device, codes = otp_enrol_fresh(user=account, actor=operator("otp_enroll"))
        if not no_qr:
            qr = segno.make(device.config_url, error="m")
            qr.terminal(out=self.stdout, compact=True)  # type: ignore[arg-type]  # writes like a TextIO
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
