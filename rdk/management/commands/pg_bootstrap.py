"""Create the PostgreSQL role and database RDK connects as.

Row-level security binds only roles that are neither superusers nor BYPASSRLS,
so RDK (tests included) must never connect as `postgres`. This command, run
with an administrator's URL, creates a plain LOGIN role (with CREATEDB, so
pytest can create its test database) and a database it owns, with the
extensions RDK's migrations use already created (EXTENSIONS), so that
migrating never needs more than the owner's rights. Idempotent."""

from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError, CommandParser
from psycopg import conninfo, sql

# pg_trgm backs catalog search (catalog/migrations/0003_search_trigrams.py).
# It is a trusted extension, so the owner could create it; creating it here
# covers databases whose owner lacks CREATE on the database's schema.
EXTENSIONS = ("pg_trgm",)


class Command(BaseCommand):
    help = "Create RDK's non-superuser PostgreSQL role and its database (idempotent)."
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--admin-url",
            default="postgres://postgres@127.0.0.1:5432/postgres",
            help="A superuser connection used only for this set-up.",
        )
        parser.add_argument("--role", default="rdk", help="Role RDK connects as (default rdk).")
        parser.add_argument("--database", default="rdk", help="Database to create (default rdk).")

    def handle(self, *args: Any, admin_url: str, role: str, database: str, **options: Any) -> None:
        try:
            connection = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise CommandError(
                f"Cannot connect with the admin URL: {exc.sqlstate or 'unreachable'}."
            ) from None
        created = []
        with connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", [role]
            ).fetchone()
            if not exists:
                connection.execute(
                    sql.SQL("CREATE ROLE {} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS").format(
                        sql.Identifier(role)
                    )
                )
                created.append(f"role {role}")
            else:
                flags = connection.execute(
                    "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role]
                ).fetchone()
                if any(flags or ()):
                    raise CommandError(
                        f"Role {role} is a superuser or BYPASSRLS; row security would not bind it."
                    )
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if not exists:
                connection.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(role)
                    )
                )
                created.append(f"database {database}")
        created += self._create_extensions(admin_url, database)
        summary = ", ".join(created) if created else "nothing to create"
        self.stdout.write(f"pg_bootstrap: role {role}, database {database}: {summary}.")

    def _create_extensions(self, admin_url: str, database: str) -> list[str]:
        target = conninfo.make_conninfo(admin_url, dbname=database)
        created = []
        with psycopg.connect(target, autocommit=True, connect_timeout=5) as connection:
            for name in EXTENSIONS:
                exists = connection.execute(
                    "SELECT 1 FROM pg_extension WHERE extname = %s", [name]
                ).fetchone()
                if not exists:
                    connection.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
                    )
                    created.append(f"extension {name}")
        return created
