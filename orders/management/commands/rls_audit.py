from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from orders.rowsecurity import rls_audit
from rdk.rls import rls_role_problem


class Command(BaseCommand):
    help = (
        "List each table protected by row-level security with its state and policies; "
        "exit non-zero if any is not enabled, not forced or missing a policy, or when the "
        "connected role is a superuser or has BYPASSRLS (row security would not bind it)."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("rls_audit needs PostgreSQL; this database has no row security.")
        results = rls_audit()
        role_problem = rls_role_problem()
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
        if role_problem:
            self.stdout.write(f"FAIL connection: {role_problem}")
            summary += f" And {role_problem}."
        if failing or role_problem:
            raise CommandError(summary)
        self.stdout.write(summary)
