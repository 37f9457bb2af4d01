"""A view that writes shopper data under the request's scope, then fails."""

from django.urls import include, path

from orders.models import Profile


def write_then_fail(request):
    Profile.objects.filter(user=request.user).update(full_name="written before the crash")
    raise RuntimeError("boom")


urlpatterns = [
    path("write-then-fail", write_then_fail),
    path("", include("rdk.urls")),
]
