"""System checks: configuration problems fail `manage.py check`."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility, deploy=False)
def config_check(app_configs, **kwargs) -> list[Error]:
    return [
        Error(str(problem), hint=f"Set {problem.name} (see .env.example).", id="rdk.E001")
        for problem in settings.CONFIG.problems
    ]
