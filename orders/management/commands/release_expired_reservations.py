from django.core.management.base import BaseCommand

from orders.services.reservations import reservations_release_expired


class Command(BaseCommand):
    help = "Put the pairs of expired, unpaid checkouts back on sale (run from cron every minute)."

    def handle(self, *args, **options):
        count = reservations_release_expired()
        self.stdout.write(f"release_expired_reservations: {count} order(s) released.")
