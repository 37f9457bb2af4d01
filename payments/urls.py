from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("api/stripe/webhook", views.webhook, name="webhook"),
]
