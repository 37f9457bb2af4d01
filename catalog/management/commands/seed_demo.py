import sys
import time

from django.core.management.base import BaseCommand

from catalog.demo import demo_seed


class Command(BaseCommand):
    help = (
        "Load the deterministic demo catalog (brands, products, sizes, stock, images). Idempotent."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        tty = sys.stdout.isatty()

        def progress(done: int, total: int, slug: str) -> None:
            if tty:
                bar = "#" * (30 * done // total)
                self.stdout.write(f"\r  [{bar:<30}] {done}/{total}", ending="")
                self.stdout.flush()
            elif done % 40 == 0 or done == total:
                self.stdout.write(
                    f"  {done}/{total} products checked ({time.monotonic() - started:.1f}s)"
                )

        result = demo_seed(progress=progress)
        if tty:
            self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"seed_demo: {result.brands_created} brand(s), "
                f"{result.products_created} product(s), "
                f"{result.variants_created} size(s) and {result.images_created} image(s) created; "
                f"{result.products_total} product(s) in the catalog; "
                f"{time.monotonic() - started:.1f}s."
            )
        )
