from django.core.management.base import BaseCommand, CommandError

from opsadmin.selectors import funnel_summary


class Command(BaseCommand):
    help = (
        "The checkout funnel (RUNBOOK §8 checkout drop): counts per step for the last hour "
        "and the last 24 hours with the drop between steps; exits 1 when paid / handed to "
        "Stripe in the last hour is below FUNNEL_ALERT_PAID_PERCENT (for cron alerts)."
    )

    def handle(self, *args, **options):
        summary = funnel_summary()
        for window in summary.windows:
            self.stdout.write(f"{window.label} (hours from {window.since:%Y-%m-%d %H}:00 UTC)")
            for row in window.rows:
                drop = "" if row.drop_percent is None else f"  drop {row.drop_percent:3d} %"
                self.stdout.write(f"  {row.label:<22} {row.count:>8}{drop}")
            self.stdout.write(f"  {'Abandoned or expired':<22} {window.abandoned:>8}")
        if summary.alert:
            raise CommandError(summary.alert)
        rate = "n/a" if summary.paid_percent is None else f"{summary.paid_percent} %"
        self.stdout.write(
            f"Paid / handed to Stripe in the last hour: {rate} "
            f"(alert below {summary.threshold} % from {summary.min_handovers} hand-overs)."
        )
