from base64 import b32encode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from opsadmin.management.commands._common import operator
from opsadmin.services.otp import otp_enrol_fresh, totp_device_for

USERNAME = "demo-admin"
PASSWORD = "rdk-demo-admin-local"  # noqa: S105 (local only; refused elsewhere)


class Command(BaseCommand):
    help = (
        "Create (or reuse) a local demo superuser with an authenticator and print how to sign in."
    )

    def handle(self, *args, **options):
        if settings.RDK_ENV != "local":
            raise CommandError(f"demo_admin is refused in {settings.RDK_ENV}.")
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            username=USERNAME,
            defaults={"email": "demo-admin@rdk.local", "is_staff": True, "is_superuser": True},
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(PASSWORD)
        user.save()
        device = totp_device_for(user)
        codes: list[str] = []
        if device is None:
            device, codes = otp_enrol_fresh(user=user, actor=operator("demo_admin"))
        admin_url = f"{settings.SITE_URL}/{settings.RDK_ADMIN_PATH}"
        self.stdout.write(
            f"  Staff admin: {admin_url}\n"
            f"    username {USERNAME}  password {PASSWORD}\n"
            f"    code: .venv/bin/python manage.py otp_code {USERNAME}\n"
            f"    (or add this key to an authenticator app: "
            f"{b32encode(device.bin_key).decode()})\n"
        )
        if codes:
            self.stdout.write(f"    backup codes: {' '.join(codes)}\n")
