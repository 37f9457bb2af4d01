from django.core.management.base import BaseCommand, CommandError

from opsadmin.services.release import FAIL, STEPS, StepResult, release_check
from rdk.env import InvalidValue


class Command(BaseCommand):
    help = (
        "The release gate (RUNBOOK §3, `make release-check ENV_FILE=…`): validates the target "
        "environment file, checks migrations, dry-runs the pending ones on the latest snapshot, "
        "diffs the OpenAPI schema, type-checks (make typecheck), runs the tests and "
        "`check --deploy`; prints the release checked and one verdict; exits 1 unless READY."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--env-file", required=True, metavar="PATH", help="The target's environment file."
        )
        parser.add_argument(
            "--skip",
            action="append",
            default=[],
            choices=STEPS,
            help="Leave a step out (shown as skipped in the verdict); repeatable.",
        )

    def handle(self, *args, env_file: str, skip: list[str], **options):
        self.stdout.write(f"Release gate for {env_file}")
        try:
            gate = release_check(env_file=env_file, skip=tuple(skip), progress=self._step)
        except OSError as exc:
            raise CommandError(f"Cannot read {env_file}: {exc.strerror}.") from None
        except InvalidValue as exc:
            raise CommandError(f"{env_file}: {exc}.") from None
        self.stdout.write(f"Release checked: {gate.release}")
        if not gate.ok:
            raise CommandError(gate.verdict)
        self.stdout.write(self.style.SUCCESS(gate.verdict))

    def _step(self, result: StepResult) -> None:
        took = f" ({result.seconds} s)" if result.seconds else ""
        first, *rest = (result.detail or "").splitlines() or [""]
        line = f"  {result.status:<7} {result.name:<16} {first}{took}"
        self.stdout.write(self.style.ERROR(line) if result.status == FAIL else line)
        for more in rest:
            self.stdout.write(f"          {more}")
