"""The environment schema: each rule has a passing and a failing case."""

from __future__ import annotations

import pytest

from rdk import env

GOOD_PRODUCTION = {
    "RDK_ENV": "production",
    "SECRET_KEY": "p" * 64,
    "ALLOWED_HOSTS": "realdealkickz.app",
    "DATABASE_URL": "postgres://rdk:hunter2@db.internal:5432/rdk",
    "CACHE_URL": "redis://cache.internal:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:mailpass@smtp.internal:587",
    "SITE_URL": "https://realdealkickz.app",
    "STRIPE_SECRET_KEY": "sk_live_abcdefghijklmnop",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_abcdefghijklmnop",
    "STRIPE_WEBHOOK_SECRETS": "whsec_current,whsec_previous",
    "SENTRY_DSN": "https://key@o1.ingest.sentry.io/42",
}
GOOD_STAGING = {
    **GOOD_PRODUCTION,
    "RDK_ENV": "staging",
    "STRIPE_SECRET_KEY": "sk_test_abcdefghijklmnop",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_abcdefghijklmnop",
    "SENTRY_DSN": "",
}


def problems_for(source: dict[str, str]) -> dict[str, str]:
    return {problem.name: str(problem) for problem in env.load(source).problems}


@pytest.mark.parametrize(
    "source", [GOOD_PRODUCTION, GOOD_STAGING, {}], ids=["production", "staging", "local"]
)
def test_complete_configurations_have_no_problems(source):
    assert env.load(source).problems == []


# (variable, environment base, passing value, failing value, words the problem must contain)
RULES = [
    ("SECRET_KEY", GOOD_PRODUCTION, "x" * 50, "short", "5 characters"),
    ("SECRET_KEY", GOOD_PRODUCTION, "y" * 80, env.DEV_SECRET_KEY, "development default"),
    ("DEBUG", GOOD_PRODUCTION, "false", "true", "refuses"),
    ("DEBUG", GOOD_STAGING, "0", "yes", "refuses"),
    ("DEBUG", {}, "true", "maybe", "not a boolean"),
    ("ALLOWED_HOSTS", GOOD_PRODUCTION, "shop.example", "*", "'*'"),
    (
        "DATABASE_URL",
        GOOD_PRODUCTION,
        "postgres://u:p@h:5432/d",
        "sqlite:///tmp/db.sqlite3",
        "not PostgreSQL",
    ),
    ("DATABASE_URL", {}, "sqlite:///tmp/db.sqlite3", "mysql://u:p@h/d", "unsupported scheme"),
    ("DATABASE_URL", {"RDK_ENV": "local"}, "postgres://u@h/d", "not a url", "not a URL"),
    ("CACHE_URL", GOOD_STAGING, "rediss://h:6380/0", "locmemcache://", "not Redis"),
    ("CACHE_URL", {}, "locmemcache://", "memcache://h:11211", "unsupported scheme"),
    ("STRIPE_SECRET_KEY", GOOD_PRODUCTION, "rk_live_abc", "sk_test_abc", "production refuses"),
    ("STRIPE_SECRET_KEY", GOOD_STAGING, "rk_test_abc", "sk_live_abc", "staging refuses"),
    ("STRIPE_SECRET_KEY", {}, "sk_test_abc", "pk_test_abc", "not a Stripe secret"),
    ("STRIPE_PUBLISHABLE_KEY", GOOD_PRODUCTION, "pk_live_x", "pk_test_x", "test-mode key but"),
    ("STRIPE_PUBLISHABLE_KEY", {}, "pk_test_x", "sk_test_x", "not a Stripe publishable"),
    ("STRIPE_WEBHOOK_SECRETS", GOOD_PRODUCTION, "whsec_a,whsec_b", "whsec_a,oops", "1 entry"),
    ("STRIPE_API_BASE", GOOD_PRODUCTION, "", "http://127.0.0.1:12111", "production would not"),
    ("STRIPE_API_BASE", {}, "http://127.0.0.1:9", "ftp://127.0.0.1", "not an http"),
    ("SENTRY_DSN", GOOD_STAGING, "https://k@sentry.example/1", "ftp://k@h/1", "not a Sentry DSN"),
    ("SENTRY_TRACES_SAMPLE_RATE", {}, "0.25", "1.5", "outside 0 to 1"),
    ("SENTRY_TRACES_SAMPLE_RATE", {}, "1", "lots", "not a number"),
    ("RDK_LOG_FORMAT", {}, "console", "xml", "not one of json, console"),
    ("RDK_LOG_LEVEL", {}, "warning", "loud", "not one of"),
    ("RDK_ADMIN_PATH", {}, "staff-7f3a/", "Admin Area", "path segment"),
    ("TRUSTED_PROXY_COUNT", {}, "2", "-1", "negative"),
    ("TRUSTED_PROXY_COUNT", {}, "1", "two", "whole number"),
    ("DATABASE_CONN_MAX_AGE", {}, "0", "-5", "negative"),
    ("DATABASE_POOLER", GOOD_STAGING, "pgbouncer-transaction", "pgbouncer", "not one of none"),
    (
        "DATABASE_POOLER",
        {"DATABASE_URL": "sqlite:///tmp/db.sqlite3"},
        "none",
        "pgbouncer-transaction",
        "DATABASE_URL is not PostgreSQL",
    ),
    ("DATABASE_POOLER_PREPARED_STATEMENTS", {}, "true", "maybe", "not a boolean"),
    ("RDK_ENV", {}, "staging", "prod", "'prod'"),
    ("EMAIL_URL", GOOD_PRODUCTION, "smtps://u:p@smtp.example:465", "outbox://", "production"),
    ("EMAIL_URL", {}, "outbox://", "pigeon://coop", "unsupported scheme"),
    ("TASKS_BACKEND", {}, "immediate", "celery", "not one of database, immediate"),
    ("TASKS_RETRY_BASE_SECONDS", {}, "5", "-1", "negative"),
    ("JOBS_HEALTH_QUEUE_AGE_MINUTES", {}, "10", "ten", "whole number"),
    ("JOBS_HEALTH_SCHEDULE_SLACK", {}, "1.5", "0", "not above 0"),
]


@pytest.mark.parametrize(
    ("name", "base", "good", "bad", "words"),
    RULES,
    ids=[f"{rule[0]}:{rule[3][:12]}" for rule in RULES],
)
def test_each_rule_passes_and_fails(name, base, good, bad, words):
    passing = {**base, name: good}
    if name == "RDK_ENV":
        passing = {**GOOD_STAGING, name: good}
    assert name not in problems_for(passing)
    failing = {**passing, name: bad}
    found = problems_for(failing)
    assert name in found
    assert words in found[name]


@pytest.mark.parametrize(
    "required",
    [
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CACHE_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRETS",
        "SENTRY_DSN",
        "EMAIL_URL",
        "SITE_URL",
    ],
)
def test_production_requires(required):
    source = {k: v for k, v in GOOD_PRODUCTION.items() if k != required}
    assert "missing (required in production)" in problems_for(source)[required]


def test_sentry_dsn_optional_in_staging():
    assert "SENTRY_DSN" not in problems_for(
        {k: v for k, v in GOOD_STAGING.items() if k != "SENTRY_DSN"}
    )


def test_all_problems_reported_at_once():
    config = env.load({"RDK_ENV": "production"})
    names = {problem.name for problem in config.problems}
    assert {
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CACHE_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRETS",
        "SENTRY_DSN",
    } <= names


def test_problems_never_echo_secret_values():
    secret_values = {
        "SECRET_KEY": "tooshort-but-secret-value",
        "DATABASE_URL": "mysql://admin:s3cr3t-db-pass@db/x",
        "CACHE_URL": "memcache://:cache-pass-999@h:1",
        "STRIPE_SECRET_KEY": "sk_leakme12345",
        "STRIPE_WEBHOOK_SECRETS": "hooksecret-leakme",
        "SENTRY_DSN": "ftp://sentrykey-leakme@h/1",
    }
    config = env.load({**GOOD_PRODUCTION, **secret_values})
    text = env.format_problems(config)
    assert len(config.problems) == len(secret_values)
    for value in secret_values.values():
        assert value not in text
    for fragment in ("s3cr3t-db-pass", "cache-pass-999", "leakme"):
        assert fragment not in text


def test_local_defaults_point_at_the_stripe_standin():
    config = env.load({})
    assert config["STRIPE_API_BASE"] == env.STANDIN_API_BASE
    assert config["STRIPE_SECRET_KEY"] == env.STANDIN_SECRET_KEY


def test_real_test_key_locally_talks_to_stripe():
    assert env.load({"STRIPE_SECRET_KEY": "sk_test_real"})["STRIPE_API_BASE"] == ""


def test_read_env_file(tmp_path):
    path = tmp_path / "prod.env"
    path.write_text(
        '# comment\nexport RDK_ENV=production\nSECRET_KEY="quoted value"\n\nDEBUG=false\n'
    )
    assert env.read_env_file(path) == {
        "RDK_ENV": "production",
        "SECRET_KEY": "quoted value",
        "DEBUG": "false",
    }
    path.write_text("JUST SOME WORDS\n")
    with pytest.raises(env.InvalidValue, match="line 1"):
        env.read_env_file(path)


def test_env_example_lists_every_variable():
    from tests.conftest import BASE_DIR

    listed = {
        line.split("=", 1)[0]
        for line in (BASE_DIR / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert listed == {var.name for var in env.SCHEMA} | {"RDK_ENV"}


def test_outbox_mail_locally_prints_decoded_text():
    assert (
        env.mailers_settings("outbox://")["default"]["BACKEND"] == "rdk.mail.OutboxConsoleBackend"
    )


@pytest.mark.parametrize(
    ("url", "folder"),
    [("filemail:///var/mail/rdk", "/var/mail/rdk"), ("filemail://var/mail", "var/mail")],
)
def test_filemail_keeps_an_absolute_folder_absolute(url, folder):
    options = env.mailers_settings(url)["default"]["OPTIONS"]
    assert options == {"file_path": folder}


def test_a_direct_connection_keeps_server_side_cursors_and_prepares_statements():
    """Django passes prepare_threshold=None to psycopg unless told otherwise,
    and its client-side cursors never prepare: both are set here."""
    config = env.database_settings("postgres://rdk@db:5432/rdk", conn_max_age=60)
    assert config["CONN_MAX_AGE"] == 60
    assert config["CONN_HEALTH_CHECKS"] is True
    assert "DISABLE_SERVER_SIDE_CURSORS" not in config
    assert config["OPTIONS"]["prepare_threshold"] == env.PREPARE_THRESHOLD
    assert config["OPTIONS"]["server_side_binding"] is True


def test_pgbouncer_transaction_mode_turns_off_what_outlives_a_transaction():
    config = env.database_settings(
        "postgres://rdk@pooler:6432/rdk", conn_max_age=60, pooler="pgbouncer-transaction"
    )
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert config["OPTIONS"]["prepare_threshold"] is None
    assert config["CONN_MAX_AGE"] == 60
    assert config["CONN_HEALTH_CHECKS"] is True


def test_a_pooler_that_tracks_prepared_statements_keeps_them():
    config = env.database_settings(
        "postgres://rdk@pooler:6432/rdk",
        pooler="pgbouncer-transaction",
        pooler_prepared_statements=True,
    )
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert config["OPTIONS"]["prepare_threshold"] == env.PREPARE_THRESHOLD


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_query_run_again_and_again_is_planned_once_per_connection():
    from django.db import connection

    from catalog.models import Product

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    for _ in range(env.PREPARE_THRESHOLD + 1):
        list(Product.objects.filter(is_active=True, slug="prepared-probe"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%"catalog_product"."slug" = $%'],
        )
        assert cursor.fetchone()[0] == 1
