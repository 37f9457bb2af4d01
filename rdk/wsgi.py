"""WSGI entry point: refuses to start on a misconfigured environment."""

import os

from rdk import env

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdk.settings")
env.exit_on_problems(env.load())

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
