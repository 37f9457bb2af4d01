import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from rdk import health, views

handler400 = "rdk.views.bad_request"
handler403 = "rdk.views.permission_denied"
handler404 = "rdk.views.page_not_found"
handler500 = "rdk.views.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"
    ),
    # The catalog's storefront home answers "/"; the name `home` stays for links.
    path("", include("catalog.urls")),
    path("", views.home, name="home"),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
    path("", include("opsadmin.urls")),
    path(settings.RDK_ADMIN_PATH, admin.site.urls),
]

if settings.DEBUG or settings.RDK_ENV == "local":
    # django.conf.urls.static.static() serves nothing unless DEBUG is on; local
    # runs (DEBUG off by default) still need the product images.
    from django.urls import re_path
    from django.views.static import serve

    urlpatterns += [
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.strip('/'))}/(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]
