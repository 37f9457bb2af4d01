from django.urls import path

from opsadmin.views.jobs import jobs_health_view

app_name = "opsadmin"

urlpatterns: list = [
    path("jobs/health", jobs_health_view, name="jobs_health"),
]
