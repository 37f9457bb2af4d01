from django.core.management.base import BaseCommand, CommandError

from opsadmin.slowqueries import slow_requests_recent, statement_report


class Command(BaseCommand):
    help = (
        "RUNBOOK §8 slow queries: the slowest and most frequent statements from "
        "pg_stat_statements (or how to enable it), and recent slow requests with their "
        "request ids (over RDK_SLOW_REQUEST_MS, or running a query over RDK_SLOW_QUERY_MS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=10, help="Statements per list (10).")
        parser.add_argument(
            "--requests", type=int, default=20, help="Recent slow requests to show (20)."
        )

    def handle(self, *args, limit: int, requests: int, **options):
        if limit < 1 or requests < 0:
            raise CommandError("--limit must be 1 or more and --requests 0 or more.")
        report = statement_report(limit=limit)
        if report.available:
            for title, rows in (
                ("Slowest statements (mean)", report.slowest),
                ("Most frequent statements", report.most_frequent),
            ):
                self.stdout.write(title)
                for s in rows:
                    self.stdout.write(
                        f"  {s.mean_ms:>10.2f} ms mean {s.calls:>9} calls "
                        f"{s.total_ms:>12.2f} ms total  {s.query[:120]}"
                    )
        else:
            self.stdout.write(f"pg_stat_statements is not available: {report.problem}")
            self.stdout.write("To enable it:")
            for number, step in enumerate(report.how_to_enable, start=1):
                self.stdout.write(f"  {number}. {step}")
        slow = slow_requests_recent(requests)
        self.stdout.write(f"Recent slow requests ({len(slow)}):")
        for r in slow:
            query = f", slowest query {r.slowest_query_ms:.0f} ms" if r.slow_queries else ""
            self.stdout.write(
                f"  {r.at:%Y-%m-%d %H:%M:%S} {r.request_id} {r.method} {r.path} "
                f"{r.status} {r.duration_ms:.0f} ms{query}"
            )
