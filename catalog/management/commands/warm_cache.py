import sys

from django.core.management.base import BaseCommand, CommandError

from catalog.warming import cache_warm
from rdk.cache import per_process_cache_warning


class Command(BaseCommand):
    help = "Render the home, catalog and product pages (and the API list) into the page cache."

    def add_arguments(self, parser):
        parser.add_argument(
            "--products", type=int, default=None, help="Warm only the N newest products."
        )
        parser.add_argument("--quiet", action="store_true", help="Print only the summary.")

    def handle(self, *args, products, quiet, **options):
        if products is not None and products < 0:
            raise CommandError("--products must be 0 or more.")
        tty = sys.stdout.isatty()

        def progress(done, total, page):
            if quiet:
                return
            if tty:
                self.stdout.write(
                    f"\r  [{'#' * (30 * done // total):<30}] {done}/{total}", ending=""
                )
            else:
                self.stdout.write(f"  {page.status} {page.cache:<6} {page.ms:7.1f} ms  {page.path}")

        result = cache_warm(product_limit=products, progress=progress)
        if tty and not quiet:
            self.stdout.write("")
        times = sorted(page.ms for page in result.pages)
        slowest = max(result.pages, key=lambda page: page.ms)
        self.stdout.write(
            f"warm_cache: {len(result.pages)} page(s) in {result.seconds:.2f}s; "
            f"median {times[len(times) // 2]:.1f} ms, "
            f"slowest {slowest.ms:.1f} ms ({slowest.path}); "
            f"{sum(page.cache == 'miss' for page in result.pages)} rendered, "
            f"{sum(page.cache == 'hit' for page in result.pages)} already cached."
        )
        if warning := per_process_cache_warning("the pages were warmed", seen_after_restart=False):
            self.stderr.write(self.style.WARNING(warning))
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} page(s) did not answer 200: "
                + ", ".join(f"{page.path} ({page.status})" for page in result.failed[:10])
            )
