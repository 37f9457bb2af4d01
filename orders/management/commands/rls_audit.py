from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from orders.rowsecurity import rls_audit


class Command(BaseCommand):
    help = (
        "List each table protected by row-level security with its state and policies; "
        "exit non-zero if any is not enabled, not forced or missing a policy."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("rls_audit needs PostgreSQL; this database has no row security.")
        results = rls_audit()
        failing = 0
        for table in results:
            problems = table.problems
            failing += bool(problems)
            self.stdout.write(
                f"{'FAIL' if problems else 'ok  '} {table.table:<22} "
                f"enabled={'yes' if table.enabled else 'no'} "
                f"forced={'yes' if table.forced else 'no'} "
                f"policies={','.join(table.policies) or '-'}"
                + (f"  ({'; '.join(problems)})" if problems else "")
            )
        summary = f"rls_audit: {len(results)} table(s), {failing} with problems."
        if failing:
            raise CommandError(summary)
        self.stdout.write(summary)
