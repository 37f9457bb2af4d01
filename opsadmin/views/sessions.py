from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from opsadmin.exceptions import OpsError
from opsadmin.forms import SessionRotateForm
from opsadmin.selectors import session_activity_for, session_epochs, session_users
from opsadmin.services.sessions import sessions_rotate
from opsadmin.views.common import actor, render_ops

SCOPE_DONE = {
    "user": "Every session of that user",
    "staff": "Every staff session",
    "all": "Every session",
}


@require_http_methods(["GET", "POST"])
def session_list(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = SessionRotateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ended = sessions_rotate(
                    scope=data["scope"],
                    user_id=data.get("user_id"),
                    actor=actor(request),
                    reason=data.get("reason", ""),
                )
            except OpsError as exc:
                messages.error(request, str(exc))
                status = 400
            else:
                messages.success(
                    request,
                    f"{SCOPE_DONE[data['scope']]} is signed out on its next request "
                    f"({ended} recorded session{'s' if ended != 1 else ''} ended).",
                )
                if (
                    data["scope"] == "all"
                    or (data["scope"] == "staff" and request.user.is_staff)
                    or data.get("user_id") == request.user.pk
                ):
                    return redirect("admin:login")
                return redirect("admin:ops_sessions")
        else:
            status = 400
            messages.error(request, "Nothing was rotated: tick the confirmation box to go ahead.")
    query = request.GET.get("q", "").strip()[:100]
    users = list(session_users(query=query))
    activity = session_activity_for([user.pk for user in users])
    rows = [(user, activity.get(user.pk, [])) for user in users]
    return render_ops(
        request,
        "opsadmin/sessions.html",
        {"title": "Sessions", "rows": rows, "query": query, "epochs": session_epochs()},
        status=status,
    )
