"""Security hardening: `check --deploy` clean under production settings, the
headers and cookies every response carries, error pages without internals, a
movable admin, and the audit tooling's configuration."""

from __future__ import annotations

import json
import tomllib

import pytest
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.urls import include, path

from tests.conftest import BASE_DIR


def boom(request):
    raise RuntimeError("database password is hunter2")  # must never reach the page


def cookies(request):
    request.session["seen"] = True
    get_token(request)
    return HttpResponse("ok")


urlpatterns = [
    path("boom", boom),
    path("cookies", cookies),
    path("", include("rdk.urls")),
]
handler500 = "rdk.views.server_error"
handler404 = "rdk.views.page_not_found"

# Fake but well-formed production values: every variable a production deploy
# needs. The database and cache are this test run's own, so pages can render.
PRODUCTION = {
    "RDK_ENV": "production",
    "SECRET_KEY": "q7Vf0-kP3zX9wL2m_T8rYb5nC1hJ6dS4gA0eU7iO3pK9vB2xN5cM8lZ1tR6yW4qE",
    "ALLOWED_HOSTS": "realdealkickz.app",
    "CSRF_TRUSTED_ORIGINS": "https://realdealkickz.app",
    "EMAIL_URL": "smtp+tls://mailer:mailpass@smtp.internal:587",
    "SITE_URL": "https://realdealkickz.app",
    "STRIPE_SECRET_KEY": "sk_live_51Hfakefakefakefake",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_51Hfakefakefakefake",
    "STRIPE_WEBHOOK_SECRETS": "whsec_fakefakefakefake",
    "SENTRY_DSN": "https://0123456789abcdef@o1.ingest.sentry.io/42",
    "RDK_LOG_LEVEL": "warning",
}


def test_check_deploy_is_clean_under_production_settings(manage, tmp_path):
    production_env = {
        **PRODUCTION,
        "DATABASE_URL": "postgres://rdk:db-password@db.internal:5432/rdk",
        "CACHE_URL": "redis://cache.internal:6379/0",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env, clean=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output
    assert "Traceback" not in output


# What a production process serves, asked of the process itself over "HTTPS"
# (the proxy's X-Forwarded-Proto), printed as JSON.
PROBE = """
import json
from django.conf import settings
from django.test import Client
from django.urls import reverse

client = Client(HTTP_HOST="realdealkickz.app")
home = client.get("/", secure=True)
login = client.get(reverse("admin:login"), secure=True)
missing = client.get("/no-such-page", secure=True)
plain = client.get("/", secure=False)
csrf = login.cookies[settings.CSRF_COOKIE_NAME]
print(json.dumps({
    "home_status": home.status_code,
    "home_headers": dict(home.headers),
    "missing_status": missing.status_code,
    "missing_body": missing.content.decode(),
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location"),
    "csrf_cookie": {"secure": csrf["secure"], "httponly": csrf["httponly"],
                    "samesite": csrf["samesite"]},
    "session": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY,
                settings.SESSION_COOKIE_SAMESITE],
}))
"""


def _database_url(db: dict) -> str:
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_production_process_serves_hardened_responses(manage, settings, tmp_path):
    db = settings.DATABASES["default"]
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    production = {
        **PRODUCTION,
        # this run's test database and cache: production settings render real pages
        "DATABASE_URL": _database_url(db),
        "CACHE_URL": location if location.startswith("redis") else "redis://127.0.0.1:6379/5",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    # Production serves hashed names from a manifest. The API docs' 9 MB bundle
    # is not on these pages; compressing it would cost half a minute.
    collected = manage(
        "collectstatic",
        "--no-input",
        "-v",
        "0",
        "-i",
        "drf_spectacular_sidecar",
        env=production,
        clean=True,
        timeout=180,
    )
    assert collected.returncode == 0, collected.stderr
    probe = manage("shell", "-c", PROBE, env=production, clean=True)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])

    assert result["home_status"] == 200
    headers = {key.lower(): value for key, value in result["home_headers"].items()}
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "form-action 'self' https://checkout.stripe.com" in csp
    assert "frame-ancestors 'none'" in csp
    assert result["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert result["session"] == [True, True, "Lax"]
    assert result["plain_status"] == 301
    assert result["plain_location"].startswith("https://realdealkickz.app/")
    # a missing page is the shop's 404, nothing of Django's internals
    assert result["missing_status"] == 404
    assert 'class="site-header"' in result["missing_body"]
    assert "Traceback" not in result["missing_body"]
    assert "URLconf" not in result["missing_body"]


@pytest.fixture
def local_urls(settings):
    settings.ROOT_URLCONF = __name__


@pytest.mark.django_db
def test_every_response_carries_the_security_headers(client, local_urls):
    response = client.get("/")
    assert response["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
        "form-action 'self' http://127.0.0.1:12111"
    )
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_cookies_are_httponly_and_samesite(client, local_urls):
    response = client.get("/cookies")
    for name in ("sessionid", "csrftoken"):
        cookie = response.cookies[name]
        assert cookie["httponly"] is True, name
        assert cookie["samesite"] == "Lax", name


@pytest.mark.django_db
def test_an_exception_shows_our_500_page_without_internals(client, local_urls, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert response["X-Request-ID"] in body
    for internal in ("Traceback", "RuntimeError", "hunter2", "boom"):
        assert internal not in body


def test_changing_the_admin_path_moves_the_admin(manage):
    script = (
        "from django.test import Client; from django.urls import reverse; c = Client(); "
        "print(reverse('admin:index'), c.get('/staff-7f3a/login/').status_code, "
        "c.get('/admin/login/').status_code)"
    )
    result = manage(
        "shell", "-c", script, env={"RDK_ADMIN_PATH": "staff-7f3a/", "RDK_LOG_LEVEL": "error"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["/staff-7f3a/", "200", "404"]


def test_bandit_is_configured_with_every_skip_justified():
    text = (BASE_DIR / "pyproject.toml").read_text()
    config = tomllib.loads(text)["tool"]["bandit"]
    assert {"tests", ".venv", "migrations"} <= set(config["exclude_dirs"])
    section = text.split("[tool.bandit]", 1)[1].split("\n[", 1)[0]
    for check in config.get("skips", []):
        line = next(line for line in section.splitlines() if f'"{check}"' in line)
        assert "#" in line, f"{check} is skipped without a reason"


def test_debug_locally_reports_the_policy_instead_of_enforcing_it(manage):
    script = (
        "from django.conf import settings; "
        "print(bool(settings.SECURE_CSP), bool(settings.SECURE_CSP_REPORT_ONLY))"
    )
    debug = manage("shell", "-c", script, env={"DEBUG": "true", "RDK_LOG_LEVEL": "error"})
    assert debug.stdout.strip().splitlines()[-1] == "False True"
    normal = manage("shell", "-c", script, env={"DEBUG": "false", "RDK_LOG_LEVEL": "error"})
    assert normal.stdout.strip().splitlines()[-1] == "True False"
