"""The release gate: one verdict over every deploy check, naming the release."""

from __future__ import annotations

import secrets

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.rdk.test_env import GOOD_PRODUCTION

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _env_file(tmp_path, **overrides) -> str:
    values = {
        **GOOD_PRODUCTION,
        "SECRET_KEY": secrets.token_urlsafe(60),
        "RDK_RELEASE": "v9.9.9-gate",
        **overrides,
    }
    path = tmp_path / "production.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return str(path)


@pytest.fixture
def snapshot_before_a_migration(settings, tmp_path):
    """The latest snapshot is of a database one migration behind this code."""
    settings.SNAPSHOT_DIR = str(tmp_path / "snapshots")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    from opsadmin.services.snapshots import snapshot_create

    call_command("migrate", "rdk", "0001", verbosity=0)
    try:
        snapshot_create(actor="test")
    finally:
        call_command("migrate", "rdk", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_ready_release(tmp_path, capsys, snapshot_before_a_migration):
    call_command("release_check", "--env-file", _env_file(tmp_path), "--skip", "tests")
    out = capsys.readouterr().out
    assert "Release checked: v9.9.9-gate" in out
    assert "READY: release v9.9.9-gate passed every gate (tests skipped)." in out
    assert "3 pending migration(s) applied" in out
    assert "rdk.0003_funnel_count" in out
    assert "mypy found no type errors (strict: rdk/ and every services/selectors module)" in out
    assert "openapi.yaml is valid and matches the code" in out
    assert "Django's deployment checks found nothing" in out


@pytest.mark.django_db(transaction=True)
def test_a_bad_environment_and_no_snapshot_are_not_ready(tmp_path, capsys, settings):
    settings.SNAPSHOT_DIR = str(tmp_path / "snapshots")
    env_file = _env_file(tmp_path, DEBUG="true", SECRET_KEY="short")
    skip = ["--skip", "tests", "--skip", "openapi", "--skip", "types"]
    with pytest.raises(CommandError, match=r"NOT READY: release v9\.9\.9-gate failed") as failed:
        call_command("release_check", "--env-file", env_file, *skip)
    assert "env, migrate-dry-run, deploy-checks" in str(failed.value)
    out = capsys.readouterr().out
    assert "DEBUG: is on" in out
    assert "No snapshot to dry-run the migrations on" in out


def test_an_unreadable_file_is_an_operator_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("release_check", "--env-file", str(tmp_path / "missing.env"))
