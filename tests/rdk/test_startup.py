"""Misconfiguration stops processes at start with the full list, never a traceback."""

from __future__ import annotations

import pytest

SECRET = "sk_test_do-not-echo-this-value-123"


def test_production_with_nothing_set_names_every_missing_variable(manage):
    result = manage("check", env={"RDK_ENV": "production"}, clean=True)
    assert result.returncode != 0
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CACHE_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRETS",
        "SENTRY_DSN",
    ):
        assert f"{name}: is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_a_test_stripe_key_without_echoing_it(manage):
    result = manage("check", env={"RDK_ENV": "production", "STRIPE_SECRET_KEY": SECRET}, clean=True)
    assert result.returncode != 0
    assert (
        "STRIPE_SECRET_KEY: is a test-mode key, which production refuses; expected a live key"
        in result.stderr
    )
    assert SECRET not in result.stderr + result.stdout


def test_production_refuses_debug(manage):
    result = manage("check", env={"RDK_ENV": "production", "DEBUG": "true"}, clean=True)
    assert result.returncode != 0
    assert "DEBUG: is on, which production refuses" in result.stderr


def test_wsgi_refuses_to_start(manage, tmp_path):
    import subprocess
    import sys

    from tests.conftest import BASE_DIR

    result = subprocess.run(
        [sys.executable, "-c", "import rdk.wsgi"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "RDK_ENV": "staging"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "RDK configuration for RDK_ENV=staging has" in result.stderr
    assert "Traceback" not in result.stderr


def test_system_check_reports_problems(settings):
    from rdk import env
    from rdk.checks import config_check

    settings.CONFIG = env.load({"RDK_ENV": "production"})
    errors = config_check(None)
    assert {error.id for error in errors} == {"rdk.E001"}
    assert any("SENTRY_DSN" in error.msg for error in errors)


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--env", "production"), 1, "SECRET_KEY: is missing"),
        (("--env", "local"), 0, "is valid"),
        (("--env-file", "/nonexistent/prod.env"), 1, "Cannot read /nonexistent/prod.env"),
        (("--env", "qa"), 2, "invalid choice"),
    ],
)
def test_envcheck(manage, args, code, words):
    result = manage("envcheck", *args, clean=True)
    assert result.returncode == code
    assert words in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_envcheck_reads_a_file(manage, tmp_path):
    from tests.rdk.test_env import GOOD_PRODUCTION

    path = tmp_path / "production.env"
    path.write_text("\n".join(f"{k}={v}" for k, v in GOOD_PRODUCTION.items()))
    ok = manage("envcheck", "--env-file", str(path), clean=True)
    assert ok.returncode == 0, ok.stderr
    path.write_text("\n".join(f"{k}={v}" for k, v in {**GOOD_PRODUCTION, "DEBUG": "true"}.items()))
    bad = manage("envcheck", "--env-file", str(path), clean=True)
    assert bad.returncode == 1
    assert "DEBUG: is on" in bad.stderr
