"""Secret rotation without downtime (RUNBOOK §11, docs/operations.md "Secret
rotation"): SECRET_KEY with SECRET_KEY_FALLBACKS, and the two-phase procedures
for the database and Redis passwords, run step by step against real servers."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.core import signing
from django.core.cache.backends.redis import RedisCache
from django.test import Client

from rdk import env
from tests.orders.factories import UserFactory
from tests.pgcluster import free_port, pg_cluster
from tests.rdk.test_env import GOOD_PRODUCTION

OLD_KEY = "o" * 60
NEW_KEY = "n" * 60


# SECRET_KEY ---------------------------------------------------------------------------


def test_fallbacks_are_parsed_and_checked_without_echoing_them():
    config = env.load({**GOOD_PRODUCTION, "SECRET_KEY_FALLBACKS": f"{OLD_KEY}, {'q' * 60}"})
    assert config.problems == []
    assert config["SECRET_KEY_FALLBACKS"] == [OLD_KEY, "q" * 60]
    for bad, words in [
        (GOOD_PRODUCTION["SECRET_KEY"], "contains SECRET_KEY itself"),
        ("short-old-key", "shorter than 50 characters"),
    ]:
        problems = [
            str(p) for p in env.load({**GOOD_PRODUCTION, "SECRET_KEY_FALLBACKS": bad}).problems
        ]
        assert len(problems) == 1
        assert words in problems[0]
        assert bad not in problems[0]


@pytest.mark.django_db
def test_a_new_secret_key_with_the_old_as_fallback_keeps_everyone_signed_in(settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    active, away = Client(), Client()
    active.force_login(UserFactory())
    away.force_login(UserFactory())
    signed = signing.dumps({"order": 7})

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    assert active.get("/account/").status_code == 200  # still signed in ...
    assert signing.loads(signed) == {"order": 7}

    # ... and that visit moved the session to the new key: dropping the old key
    # signs out only those who did not come back while it was a fallback.
    settings.SECRET_KEY_FALLBACKS = []
    assert active.get("/account/").status_code == 200
    assert away.get("/account/").status_code == 302
    with pytest.raises(signing.BadSignature):
        signing.loads(signed)


def test_settings_take_the_fallbacks_from_the_environment(manage):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(len(settings.SECRET_KEY_FALLBACKS))",
        env={"RDK_ENV": "local", "SECRET_KEY_FALLBACKS": f"{OLD_KEY},{NEW_KEY}"},
    )
    assert result.stdout.strip().endswith("2"), result.stderr


def test_envcheck_reports_which_secrets_have_fallbacks(manage, tmp_path):
    source = {**GOOD_PRODUCTION, "SECRET_KEY_FALLBACKS": OLD_KEY}
    path = tmp_path / "production.env"
    path.write_text("\n".join(f"{k}={v}" for k, v in source.items()))
    result = manage("envcheck", "--env-file", str(path), clean=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "SECRET_KEY: 1 previous key(s) accepted" in out
    assert "STRIPE_WEBHOOK_SECRETS: 2 secret(s) accepted (rotating)" in out
    assert "DATABASE_URL: no fallback in RDK; rotate with two login roles" in out
    assert "CACHE_URL: no fallback in RDK; rotate with two passwords" in out
    for value in (OLD_KEY, "whsec_previous", "hunter2"):
        assert value not in out


# Database password: two login roles acting as one ------------------------------------

ROTATION_SETUP = [
    # Once: RDK's objects belong to the role `rdk`, which no longer logs in itself;
    # each login role becomes `rdk` as it connects, so ownership and row security
    # are exactly those of `rdk` whichever login the app uses.
    "CREATE ROLE rdk NOLOGIN",
    "CREATE ROLE rdk_blue LOGIN PASSWORD 'old-password' IN ROLE rdk",
    "ALTER ROLE rdk_blue SET role = 'rdk'",
    "CREATE ROLE rdk_green NOLOGIN IN ROLE rdk",
    "ALTER ROLE rdk_green SET role = 'rdk'",
    "CREATE DATABASE shop OWNER rdk",
]


@pytest.mark.slow
def test_database_password_rotation_two_phase():
    with pg_cluster() as cluster:
        with cluster.admin() as admin:
            for statement in ROTATION_SETUP:
                admin.execute(statement)
        serving = cluster.connect("rdk_blue", "old-password", "shop")  # the running app
        serving.execute("CREATE TABLE orders (id int)")
        serving.execute("INSERT INTO orders VALUES (1)")
        assert serving.execute("SELECT current_user").fetchone()[0] == "rdk"

        # Phase 1: the idle login gets the new password; both logins work.
        with cluster.admin() as admin:
            admin.execute("ALTER ROLE rdk_green LOGIN PASSWORD 'new-password'")
        with cluster.connect("rdk_blue", "old-password", "shop") as old:
            assert old.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
        # Phase 2: deploy DATABASE_URL with rdk_green; it sees and owns the same data.
        with cluster.connect("rdk_green", "new-password", "shop") as new:
            assert new.execute("SELECT current_user").fetchone()[0] == "rdk"
            new.execute("INSERT INTO orders VALUES (2)")
            new.execute("ALTER TABLE orders ADD COLUMN note text")  # migrations still work
        # Phase 3: nothing logs in as rdk_blue any more; take its login away.
        with cluster.admin() as admin:
            admin.execute("ALTER ROLE rdk_blue NOLOGIN PASSWORD NULL")
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'rdk_blue'"
            )
        with pytest.raises(psycopg.OperationalError):
            cluster.connect("rdk_blue", "old-password", "shop")
        with cluster.connect("rdk_green", "new-password", "shop") as new:
            assert new.execute("SELECT count(*) FROM orders").fetchone()[0] == 2
        serving.close()


# Redis password: two passwords on one ACL user ---------------------------------------


def _cache(port: int, password: str) -> RedisCache:
    settings = env.cache_settings(f"redis://rdk:{password}@127.0.0.1:{port}/0")
    return RedisCache(settings["LOCATION"], {"OPTIONS": {"socket_connect_timeout": 2}})


def _works(port: int, password: str) -> bool:
    try:
        cache = _cache(port, password)
        cache.set("probe", password)
        return cache.get("probe") == password
    except Exception:  # authentication refused: redis raises its own errors
        return False


@pytest.fixture
def redis_server():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed")
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="rdk-redis-"))
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    cli = [shutil.which("redis-cli") or "redis-cli", "-p", str(port)]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # poll until it answers
        if subprocess.run([*cli, "PING"], capture_output=True, text=True).stdout.strip() == "PONG":
            break
    try:
        yield port, cli
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_redis_password_rotation_two_phase(redis_server):
    port, cli = redis_server

    def acl(*args: str) -> None:
        subprocess.run([*cli, "ACL", "SETUSER", "rdk", *args], check=True, capture_output=True)

    acl("on", ">old-password", "~*", "&*", "+@all")
    assert _works(port, "old-password")
    assert not _works(port, "new-password")

    acl(">new-password")  # phase 1: accept both
    assert _works(port, "old-password")
    assert _works(port, "new-password")
    # phase 2: deploy CACHE_URL with the new password everywhere
    acl("<old-password")  # phase 3: drop the old one
    assert not _works(port, "old-password")
    assert _works(port, "new-password")
