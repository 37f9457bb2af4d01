from django.urls import path

from catalog import apis, views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("products", views.product_list, name="product_list"),
    path("products/<slug:slug>", views.product_detail, name="product_detail"),
    path("api/v1/products", apis.product_list_api, name="api_product_list"),
    path("api/v1/products/<slug:slug>", apis.product_detail_api, name="api_product_detail"),
]
