"""Every migration of the release being made is backward compatible, or says
on itself what a rollback across it needs (rdk/rollback.py, docs/operations.md)."""

from __future__ import annotations

from django.db import migrations, models

from rdk.rollback import migration_verdict, release_verdicts


def test_every_migration_of_this_release_is_rollback_safe_or_marked():
    verdicts = release_verdicts()
    assert verdicts, "no migration found: the loader looked in the wrong place"
    unmarked = [f"{v.key[0]}.{v.key[1]}: {v.reason}" for v in verdicts if "mark it" in v.reason]
    assert unmarked == []
    badly_marked = [v.key for v in verdicts if "no rollback_note" in v.reason]
    assert badly_marked == []


def _migration(*operations, **marks):
    attrs = {"operations": list(operations), **marks}
    return type("Migration", (migrations.Migration,), attrs)("0099_test", "shop")


def test_the_rules():
    nullable = migrations.AddField("order", "note", models.TextField(null=True))
    with_db_default = migrations.AddField("order", "n", models.IntegerField(db_default=0))
    python_default = migrations.AddField("order", "n", models.IntegerField(default=0))
    removed = migrations.RemoveField("order", "note")
    data = migrations.RunPython(migrations.RunPython.noop)

    assert migration_verdict(_migration(nullable, with_db_default)).safe
    assert migration_verdict(_migration(migrations.CreateModel("Thing", []))).safe
    verdict = migration_verdict(_migration(python_default))
    assert not verdict.safe
    assert "NOT NULL without a database default" in verdict.reason
    assert not migration_verdict(_migration(removed)).safe
    assert not migration_verdict(_migration(data)).safe
    marked = _migration(data, rollback_safe=True, rollback_note="touches nothing old code reads")
    assert migration_verdict(marked).safe
    assert not migration_verdict(_migration(removed, rollback_safe=True)).safe  # no note
    unsafe = _migration(removed, rollback_safe=False, rollback_note="restore the column first")
    assert migration_verdict(unsafe).reason == "restore the column first"
