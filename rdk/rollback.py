"""Which migrations a code rollback may cross (docs/operations.md, "Roll back").

RDK's migrations are forward-only in production: rolling back a release means
deploying the previous release's code on the *current* schema. That is safe
across a migration when the previous code still works on the migrated schema:
it adds a table, an index, or a column the old code may leave out (nullable, or
with a database default). Anything else (a column the old code does not fill,
a changed column, data rewritten, something dropped or renamed) must say so on
the migration:

    class Migration(migrations.Migration):
        rollback_safe = False
        rollback_note = "Renames fulfilled to shipped: before rolling back, run …"

`rollback_safe = True` with a note states that a reviewer checked a migration
the rules cannot judge (a data migration the old code does not notice, a
choices-only AlterField). tests/rdk/test_rollback.py holds every migration of
the release being made (those not in the last git tag) to these rules, and
`release_check` lists the pending ones that are not safe.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import migrations
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.db.models import Field
from django.db.models.fields import NOT_PROVIDED

BASE_DIR = Path(__file__).resolve().parent.parent

_ADDITIVE = (
    migrations.CreateModel,
    migrations.AddIndex,
    migrations.AlterModelOptions,
    migrations.AlterModelManagers,
)


@dataclass(frozen=True)
class Verdict:
    key: tuple[str, str]  # (app label, migration name)
    safe: bool
    reason: str  # why, for the operator


# Field options the database never sees: changing only these alters no column.
_NOT_IN_DATABASE = {"choices", "help_text", "verbose_name", "validators", "blank", "editable"}


def _database_options(field: Field[Any, Any]) -> dict[str, Any]:
    _, _, args, kwargs = field.deconstruct()
    return {"args": args, **{k: v for k, v in kwargs.items() if k not in _NOT_IN_DATABASE}}


def _alter_is_cosmetic(
    operation: migrations.AlterField, app_label: str, before: ProjectState | None
) -> bool:
    if before is None:
        return False
    model = before.models.get((app_label, operation.model_name_lower))
    old = model.fields.get(operation.name) if model else None
    return old is not None and _database_options(old) == _database_options(operation.field)


def _operation_problem(
    operation: Operation, created: set[str], app_label: str, before: ProjectState | None
) -> str | None:
    """None when the previous release's code keeps working after `operation`."""
    if isinstance(operation, _ADDITIVE):
        return None
    if isinstance(operation, migrations.AlterField) and _alter_is_cosmetic(
        operation, app_label, before
    ):
        return None  # choices, validators, help text: no column changes
    if isinstance(operation, migrations.AddConstraint) and (
        operation.model_name.lower() in created
    ):
        return None  # a constraint on a table this migration creates
    if isinstance(operation, migrations.AddField):
        field = operation.field
        if field.many_to_many or field.null or field.db_default is not NOT_PROVIDED:
            return None
        return (
            f"adds {operation.model_name}.{operation.name} NOT NULL without a database default: "
            "the previous code's inserts leave it out"
        )
    return f"{type(operation).__name__} cannot be judged automatically"


def migration_verdict(
    migration: migrations.Migration, before: ProjectState | None = None
) -> Verdict:
    """Whether the previous release's code runs on the schema after `migration`;
    `before` is the project state before it (to judge an AlterField)."""
    key = (migration.app_label, migration.name)
    marked = getattr(migration, "rollback_safe", None)
    note = getattr(migration, "rollback_note", "")
    if marked is not None:
        if not note:
            return Verdict(key, False, "is marked rollback_safe but has no rollback_note")
        return Verdict(key, bool(marked), note)
    created = {
        op.name.lower() for op in migration.operations if isinstance(op, migrations.CreateModel)
    }
    problems = [
        problem
        for operation in migration.operations
        if (problem := _operation_problem(operation, created, migration.app_label, before))
    ]
    if problems:
        return Verdict(key, False, "; ".join(problems) + " (mark it: see rdk/rollback.py)")
    return Verdict(key, True, "additive (or database-invisible) changes only")


PROJECT_APPS = {"rdk", "catalog", "orders", "payments", "opsadmin"}


def project_verdicts(keys: Iterable[tuple[str, str]] | None = None) -> list[Verdict]:
    """The verdict on each of RDK's own migrations (not Django's or libraries'),
    or on those of `keys`, in dependency order."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    wanted = {key for key in loader.disk_migrations if key[0] in PROJECT_APPS}
    if keys is not None:
        wanted &= set(keys)
    verdicts = []
    for key in _ordered(loader, wanted):
        before = loader.project_state(key, at_end=False)
        verdicts.append(migration_verdict(loader.disk_migrations[key], before))
    return verdicts


def _ordered(loader: MigrationLoader, keys: set[tuple[str, str]]) -> list[tuple[str, str]]:
    plan: list[tuple[str, str]] = []
    for leaf in loader.graph.leaf_nodes():
        plan += [key for key in loader.graph.forwards_plan(leaf) if key not in plan]
    return [key for key in plan if key in keys]


def last_release_tag() -> str | None:
    """The newest v* tag, or None (no release tagged yet, or no git)."""
    try:
        result = subprocess.run(
            ["git", "tag", "--list", "v*", "--sort=-v:refname"],  # noqa: S607  # nosec B607
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    tags = result.stdout.split()
    return tags[0] if tags else None


def migrations_at(tag: str) -> set[tuple[str, str]]:
    result = subprocess.run(  # noqa: S603 (a tag name git itself listed)
        ["git", "ls-tree", "-r", "--name-only", tag],  # noqa: S607  # nosec B607
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found = set()
    for line in result.stdout.splitlines():
        parts = Path(line).parts
        if len(parts) == 3 and parts[1] == "migrations" and parts[2][:4].isdigit():
            found.add((parts[0], parts[2].removesuffix(".py")))
    return found


def release_verdicts() -> list[Verdict]:
    """Verdicts on the migrations this release adds: those not in the last tag
    (all of them, before the first release is tagged)."""
    tag = last_release_tag()
    released = migrations_at(tag) if tag else set()
    return [verdict for verdict in project_verdicts() if verdict.key not in released]
