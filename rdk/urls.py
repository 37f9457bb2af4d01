from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from rdk import health, views

handler400 = "rdk.views.bad_request"
handler403 = "rdk.views.permission_denied"
handler404 = "rdk.views.page_not_found"
handler500 = "rdk.views.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", views.home, name="home"),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
    path("", include("opsadmin.urls")),
    path(settings.RDK_ADMIN_PATH, admin.site.urls),
]

if settings.DEBUG or settings.RDK_ENV == "local":
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
