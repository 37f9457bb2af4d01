from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from opsadmin.forms import SwitchForm
from opsadmin.selectors import switch_rows
from opsadmin.views.common import actor, render_ops
from rdk.clientip import client_ip_for_records
from rdk.exceptions import RdkError
from rdk.maintenance import AREAS
from rdk.switches import switch_set


@require_http_methods(["GET", "POST"])
def switch_list(request: HttpRequest) -> HttpResponse:
    form = SwitchForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                switch_set(
                    name=data["name"], on=data["on"], actor=actor(request), reason=data["reason"]
                )
            except RdkError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request, f"{data['name']} is now {'on' if data['on'] else 'off'} everywhere."
                )
                return redirect("admin:ops_switches")
        status = 400
        messages.error(
            request,
            "Not changed: "
            + "; ".join(
                f"{field}: {' '.join(map(str, errors))}" for field, errors in form.errors.items()
            ),
        )
    rows = switch_rows()
    areas = {name: sorted(exact + prefixes) for name, (exact, prefixes) in AREAS.items()}
    return render_ops(
        request,
        "opsadmin/switches.html",
        {
            "title": "Switches and maintenance",
            "rows": rows,
            "areas": areas,
            "client_ip": client_ip_for_records(request),
        },
        status=status,
    )
