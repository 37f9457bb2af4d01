"""Run the local Stripe stand-in (see docs/payments.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.gateway import API_VERSION
from payments.standin import StandIn
from payments.standin.server import is_loopback
from rdk import env


class Command(BaseCommand):
    help = (
        "Serve the local Stripe stand-in: Stripe's API for RDK at STRIPE_API_BASE, a hosted "
        "checkout page with test cards, and signed webhooks to RDK. Loopback only."
    )

    def add_arguments(self, parser) -> None:
        default = urlsplit(env.STANDIN_API_BASE)
        parser.add_argument("--host", default=default.hostname, help="a loopback address")
        parser.add_argument("--port", type=int, default=default.port)
        parser.add_argument(
            "--webhook-url",
            default=None,
            help="where to deliver events (default: SITE_URL/api/stripe/webhook)",
        )
        parser.add_argument("--webhook-secret", default=env.STANDIN_WEBHOOK_SECRET)
        parser.add_argument(
            "--async-delay",
            type=float,
            default=5.0,
            help="seconds before an async test payment settles",
        )
        parser.add_argument(
            "--webhook-header",
            action="append",
            default=[],
            metavar="NAME: VALUE",
            help=(
                "a header added to every webhook delivery (repeatable), e.g. "
                "'X-Forwarded-Proto: https' as a TLS-terminating balancer would add"
            ),
        )

    def handle(
        self,
        *args,
        host,
        port,
        webhook_url,
        webhook_secret,
        async_delay,
        webhook_header,
        **options,
    ):
        if not is_loopback(host):
            raise CommandError(f"--host {host!r}: the stand-in listens on loopback only.")
        if not 0 <= port <= 65535:
            raise CommandError("--port must be between 0 and 65535.")
        if not webhook_secret.startswith("whsec_"):
            raise CommandError("--webhook-secret must start with whsec_.")
        webhook_url = webhook_url or f"{settings.SITE_URL}/api/stripe/webhook"
        if urlsplit(webhook_url).scheme not in ("http", "https"):
            raise CommandError("--webhook-url must be an http(s) URL.")
        headers = {}
        for item in webhook_header:
            name, sep, value = item.partition(":")
            if not sep or not name.strip() or not value.strip():
                raise CommandError(f"--webhook-header {item!r} is not 'Name: value'.")
            headers[name.strip()] = value.strip()
        try:
            standin = StandIn(
                host=host,
                port=port,
                secret_key=env.STANDIN_SECRET_KEY,
                webhook_secret=webhook_secret,
                webhook_url=webhook_url,
                api_version=API_VERSION,
                async_delay=async_delay,
                webhook_headers=headers,
            )
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from exc
        self.stdout.write(
            f"Stripe stand-in at {standin.url} (key {env.STANDIN_SECRET_KEY}); "
            f"webhooks to {webhook_url}. Test card 4242 4242 4242 4242. Ctrl-C stops it."
        )
        standin.start()
        try:
            standin.wait()
        except KeyboardInterrupt:
            pass
        finally:
            standin.stop()
