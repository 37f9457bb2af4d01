"""The bare-Django floor: what `django-admin startproject` gives (default apps
and middleware), DEBUG off, and two views. RDK's rows are reported as a ratio
of this project's `/` served the same way in the same round.

`/naive` is the "naive Django catalog page" of issue 12: 24 products from
RDK's bench database in 5 queries through the ORM (the `shop` app models RDK's
catalog tables, unmanaged), rendered by a template, nothing cached. The issue
measured its naive page at 0.035 x the floor; a first version here, in raw SQL
with the prices printed in cents, ran about four times faster than that, which
is not the page a naive Django project serves.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A fresh key per process: the floor signs nothing that outlives it.
SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shop",  # /naive's models only: the floor's `/` does not touch them
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "floorsite.urls"
WSGI_APPLICATION = "floorsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The bench passes RDK's bench database (read by /naive only) as FLOOR_DATABASE_*.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("FLOOR_DATABASE_NAME", "rdk_bench"),
        "USER": os.environ.get("FLOOR_DATABASE_USER", "rdk"),
        "HOST": os.environ.get("FLOOR_DATABASE_HOST", "127.0.0.1"),
        "PORT": os.environ.get("FLOOR_DATABASE_PORT", "5432"),
        "CONN_MAX_AGE": 60,
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
MEDIA_URL = "/media/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
