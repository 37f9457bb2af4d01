from django.apps import AppConfig


class RdkConfig(AppConfig):
    name = "rdk"
    verbose_name = "RDK platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.backends.signals import connection_created
        from django.tasks.signals import task_finished

        from rdk import checks  # noqa: F401  (registers the system checks)
        from rdk.observability import sentry_init
        from rdk.receivers import task_finished_requeue_orphans, task_finished_requeue_transient
        from rdk.slowlog import install_query_timer

        task_finished.connect(
            task_finished_requeue_transient, dispatch_uid="rdk.task_finished_requeue_transient"
        )
        task_finished.connect(
            task_finished_requeue_orphans, dispatch_uid="rdk.task_finished_requeue_orphans"
        )
        connection_created.connect(install_query_timer, dispatch_uid="rdk.slowlog.query_timer")

        sentry_init(
            dsn=settings.SENTRY_DSN,
            environment=settings.RDK_ENV,
            release=settings.RDK_RELEASE,
            traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        )
