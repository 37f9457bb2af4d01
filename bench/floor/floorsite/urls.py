from django.urls import path

from floorsite import views

urlpatterns = [
    path("", views.ok),
    path("naive", views.naive_catalog),
]
