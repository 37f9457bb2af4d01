from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rdk import env


class Command(BaseCommand):
    help = (
        "Validate RDK's configuration without starting anything (for deploy pipelines). "
        "Reads the process environment, or --env-file; exits 0 when valid, 1 otherwise."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--env", choices=env.ENVIRONMENTS, help="Validate as this RDK_ENV.")
        parser.add_argument(
            "--env-file",
            metavar="PATH",
            help="Read variables from this file instead of the environment.",
        )

    def handle(
        self, *args: Any, env: str | None = None, env_file: str | None = None, **options: Any
    ) -> None:
        from rdk import env as schema

        if env_file:
            try:
                source = schema.read_env_file(env_file)
            except OSError as exc:
                raise CommandError(f"Cannot read {env_file}: {exc.strerror}.") from None
            except schema.InvalidValue as exc:
                raise CommandError(f"{env_file}: {exc}.") from None
        else:
            import os

            source = dict(os.environ)
        config = schema.load(source, env=env)
        if config.problems:
            self.stderr.write(schema.format_problems(config))
            raise SystemExit(1)
        self.stdout.write(
            self.style.SUCCESS(
                f"RDK configuration for RDK_ENV={config.env} is valid "
                f"({len(schema.SCHEMA)} variables checked)."
            )
        )
        self.stdout.write("Secret rotation (fallbacks configured):")
        for name, state in schema.secret_fallbacks(config):
            self.stdout.write(f"  {name}: {state}")
