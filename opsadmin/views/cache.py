from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from opsadmin.exceptions import OpsError
from opsadmin.forms import RevalidateForm
from opsadmin.selectors import cache_overview
from opsadmin.services.cache import tags_revalidate
from opsadmin.views.common import actor, render_ops


@require_http_methods(["GET", "POST"])
def cache_page(request: HttpRequest) -> HttpResponse:
    form = RevalidateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tags = tags_revalidate(
                tags=form.cleaned_data["tags"],
                reason=form.cleaned_data["reason"],
                actor=actor(request),
            )
        except OpsError as exc:
            form.add_error("tags", str(exc))
        else:
            messages.success(request, f"Revalidated {', '.join(tags)}: the next render is fresh.")
            return redirect("admin:ops_cache")
    versions, log = cache_overview()
    return render_ops(
        request,
        "opsadmin/cache.html",
        {"title": "Cache", "form": form, "versions": sorted(versions.items()), "log": log},
        status=400 if form.errors else 200,
    )
