from django.apps import AppConfig


class OpsadminConfig(AppConfig):
    name = "opsadmin"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"
